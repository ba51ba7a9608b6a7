import { z } from 'zod';
import { SNAPSHOT_ID_RE } from '@rag/core';

/**
 * One night of the nightly workflow, as stored at `nightly/<alias>/<yyyymmdd>/night.json`: its state while
 * it runs (so a re-run resumes, and a finished night is not run twice) and its report once done.
 */
export const NIGHT_RECORD_VERSION = 1;
export const NIGHTLY_PREFIX = 'nightly/';
export const GATES_PREFIX = 'gates/';

export const nightKey = (alias: string, night: string) => `${NIGHTLY_PREFIX}${alias}/${night}/night.json`;
export const nightHtmlKey = (alias: string, night: string) => `${NIGHTLY_PREFIX}${alias}/${night}/report.html`;
export const nightsPrefix = (alias: string) => `${NIGHTLY_PREFIX}${alias}/`;
export const nightLockKey = (alias: string) => `${NIGHTLY_PREFIX}${alias}/running.json`;
/** Every gate decision (promote or hold), by alias and time: `alias history` shows them beside the versions. */
export const gateKey = (alias: string, at: string, candidate: string) => `${GATES_PREFIX}${alias}/${at.replace(/[:.]/g, '')}.${candidate}.json`;
export const gatesPrefix = (alias: string) => `${GATES_PREFIX}${alias}/`;

const id = z.string().regex(SNAPSHOT_ID_RE);

export const gateMetricSchema = z.object({
  metric: z.string(), n: z.number().int(), a: z.number(), b: z.number(), deltaPts: z.number(), p: z.number(),
  test: z.enum(['mcnemar', 'bootstrap']), discordant: z.object({ aOnly: z.number().int(), bOnly: z.number().int() }).optional(),
  maxDrop: z.number(), failed: z.boolean(), line: z.string(),
});

/** A gate decision as stored: what was compared, on which questions, and the result. */
export const gateRecordSchema = z.object({
  v: z.literal(1),
  alias: id,
  candidate: id,
  /** What the alias served when the gate ran (absent: the alias did not exist, the first night). */
  baseline: z.object({ snapshot: id, version: z.number().int().min(1) }).optional(),
  at: z.string(),
  by: z.string(),
  questions: z.object({ path: z.string(), sha256: z.string(), n: z.number().int() }).optional(),
  settings: z.object({ mode: z.string(), k: z.number().int(), alpha: z.number(), minQuestions: z.number().int(), maxDrop: z.record(z.string(), z.number()) }).optional(),
  passed: z.boolean(),
  metrics: z.array(gateMetricSchema),
  reasons: z.array(z.string()),
  summary: z.string(),
  /** promoted: the alias was flipped to the candidate (its version); held: not; conflict: the alias moved meanwhile. */
  outcome: z.enum(['promoted', 'held', 'conflict']),
  aliasVersion: z.number().int().optional(),
  night: z.string().optional(),
});
export type GateRecord = z.infer<typeof gateRecordSchema>;

const changedSchema = z.object({
  id: z.string(), question: z.string(),
  a: z.object({ answer: z.string(), top: z.object({ id: z.string(), title: z.string() }).optional(), goldRank: z.number().nullable().optional() }),
  b: z.object({ answer: z.string(), top: z.object({ id: z.string(), title: z.string() }).optional(), goldRank: z.number().nullable().optional() }),
  causes: z.array(z.object({ passage: z.string(), kind: z.enum(['added', 'removed', 'changed']), page: z.string(), title: z.string(), arm: z.enum(['a', 'b']) })),
});

export const nightRecordSchema = z.object({
  v: z.literal(NIGHT_RECORD_VERSION),
  alias: id,
  night: z.string().regex(/^\d{8}$/),
  snapshot: id,
  /** The configuration file and its sha256. */
  config: z.object({ path: z.string(), sha256: z.string() }),
  status: z.enum(['running', 'done', 'failed']),
  /** The last step reached: built, gated, decided, retained, reported. */
  step: z.enum(['started', 'built', 'gated', 'decided', 'retained']).default('started'),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  source: z.string(),
  /** What the night was built on (the alias's snapshot when it started), fixed at the first attempt. */
  base: z.object({ snapshot: id, version: z.number().int() }).optional(),
  build: z.object({
    passages: z.number().int(), reencoded: z.number().int(), reusedShards: z.number().int(), shards: z.number().int(),
    seconds: z.number(), bytesNew: z.number().int().optional(),
  }).optional(),
  diff: z.object({
    pages: z.object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int(), unchanged: z.number().int() }),
    passages: z.object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int(), unchanged: z.number().int() }),
  }).optional(),
  gate: z.object({
    /** Where the gate decision is stored (set once decided). */
    key: z.string().optional(),
    passed: z.boolean(), summary: z.string(), reasons: z.array(z.string()), metrics: z.array(gateMetricSchema),
    questions: z.object({ path: z.string(), sha256: z.string(), n: z.number().int() }),
    /** What the alias served when the gate read it: the promotion is a compare-and-set on this version. */
    baseline: z.object({ snapshot: id, version: z.number().int() }),
  }).optional(),
  decision: z.enum(['promoted', 'held', 'first']).optional(),
  /** The alias version the promotion created. */
  aliasVersion: z.number().int().optional(),
  changes: z.object({ questions: z.number().int(), changed: z.number().int(), shown: z.array(changedSchema) }).optional(),
  retention: z.object({
    kept: z.array(z.string()), removed: z.array(z.string()), refused: z.array(z.object({ id: z.string(), reason: z.string() })),
    gc: z.object({ deleted: z.number().int(), bytesFreed: z.number(), keptInGrace: z.number().int() }).optional(),
  }).optional(),
  /** Bytes of every object under objects/ after the night (storage growth per night). */
  storageBytes: z.number().int().optional(),
  error: z.string().optional(),
});
export type NightRecord = z.infer<typeof nightRecordSchema>;

export function parseNightRecord(bytes: Uint8Array, key: string): NightRecord {
  try {
    return nightRecordSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (err) {
    throw new Error(`${key} is not a night record: ${(err as Error).message}`);
  }
}
