import { z } from 'zod';
import { SNAPSHOT_ID_RE } from '@rag/core';

/** Version 1 of the alias object at `aliases/<name>.json`. Readers refuse versions they do not know. */
export const ALIAS_SCHEMA_VERSION = 1;

const id = z.string().regex(SNAPSHOT_ID_RE).max(128);

export const aliasRecordSchema = z.object({
  schema: z.literal(ALIAS_SCHEMA_VERSION),
  name: id,
  /** The published snapshot this alias points at. */
  snapshot: id,
  /** Starts at 1, +1 per flip, never reused (also not after a race): followers switch only forwards. */
  version: z.number().int().min(1),
  updatedAt: z.string(),
  /** The snapshot it pointed at before this flip, for rollback. */
  previous: id.optional(),
  /**
   * A random token of the writer that claimed this version, so that equal bytes read back after a
   * retried create mean this writer's claim.
   */
  writer: z.string().max(64).optional(),
  /**
   * Set on a version that `snapshot rm` claimed to fence a flip that had not finished (see
   * remove-snapshot.ts): it carries the previous target and readers skip it; the flip it fenced fails.
   */
  voided: z.string().max(500).optional(),
  /** Who flipped it: `user@host` of a manual `alias set`, or `nightly <config>` / `promote` with the gate that passed. */
  by: z.string().max(200).optional(),
  /** The quality gate this flip passed (promote / nightly run): its decision line and where its record is stored. */
  gate: z.object({ summary: z.string().max(1000), key: z.string().max(500).optional() }).optional(),
});

export type AliasRecord = z.infer<typeof aliasRecordSchema>;
