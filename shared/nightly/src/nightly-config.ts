import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, SNAPSHOT_ID_RE, sha256 } from '@rag/core';
import { assertGateMetric } from './quality-gate.js';

/** Version 1 of nightly.json / nightly.yaml. Unknown keys are refused (a typo must not silently do nothing). */
export const NIGHTLY_CONFIG_VERSION = 1;

const id = z.string().regex(SNAPSHOT_ID_RE, 'lowercase letters, digits, dot, dash, underscore; starting with a letter or digit').max(100);
const positive = z.number().int().min(1);

export const nightlyConfigSchema = z.object({
  version: z.literal(NIGHTLY_CONFIG_VERSION),
  /** The alias the nights are promoted to, e.g. prod. */
  alias: id,
  /** Night snapshots are `<snapshotPrefix>-<yyyymmdd>`. */
  snapshotPrefix: id,
  /**
   * Tonight's dump: `pattern` with {yyyymmdd}, {yyyy}, {mm}, {dd} (a path or s3:// URL), or the newest object
   * under `newestUnder` (a directory or s3:// prefix) whose name matches `match` (a regular expression).
   */
  source: z.union([
    z.object({ pattern: z.string().min(1) }).strict(),
    z.object({ newestUnder: z.string().min(1), match: z.string().optional() }).strict(),
  ]),
  /** How each night is built (as `snapshot build`); the index kind follows the base's. */
  build: z.object({
    workers: z.number().int().min(0).optional(),
    shardSize: positive.optional(),
    encodePart: z.number().int().min(0).optional(),
    words: positive.optional(),
    waitForWorkers: z.boolean().optional(),
  }).strict().default({}),
  gate: z.object({
    /** Canary questions with gold answers (any format `qa run` reads). */
    questions: z.string().min(1),
    /** World question files: the gold year. */
    year: z.string().optional(),
    limit: positive.optional(),
    /** retrieve-only: hits@K only (no generator needed); a RAG mode adds EM/F1. */
    mode: z.enum(['retrieve-only', 'rag-token', 'rag-sequence', 'rag-sequence-fast']).default('retrieve-only'),
    k: positive.default(20),
    beams: positive.default(4),
    /** Largest allowed drop, percentage points, per metric: hits@K, em, f1. */
    maxDrop: z.record(z.string(), z.number().min(0)).default({ 'hits@20': 1 }),
    /** Significance level of the paired tests. */
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** Fewer scored canary questions than this hold the night. */
    minQuestions: positive.default(50),
  }).strict(),
  retention: z.object({
    /** Night snapshots kept (the newest N, promoted or held); older ones are removed unless an alias needs them. */
    keepNights: positive.default(7),
    /** Also keep the snapshots of the alias's newest N versions (the current one and what rollback goes to). */
    keepAliasVersions: positive.default(2),
    /** gc after removing: hours an object must stay unreferenced before deletion (>= 1/6); 0 = one pass at once. */
    gcGraceHours: z.number().min(0).default(24),
  }).strict().default({ keepNights: 7, keepAliasVersions: 2, gcGraceHours: 24 }),
  /** `rag coordinator --nightly FILE` runs the night on this cron pattern (BullMQ job scheduler). */
  schedule: z.object({ cron: z.string().min(1), tz: z.string().optional() }).strict().optional(),
}).strict();

export type NightlyConfig = z.infer<typeof nightlyConfigSchema>;

export interface LoadedNightlyConfig {
  config: NightlyConfig;
  path: string;
  /** sha256 of the file's bytes: a night records which configuration ran it. */
  sha256: string;
}

/**
 * Reads and validates nightly.json or nightly.yaml. Relative paths (the source, the canary questions) are
 * relative to the file, so the scheduler's working directory does not matter.
 */
export async function loadNightlyConfig(path: string): Promise<LoadedNightlyConfig> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the nightly configuration ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'pass --config nightly.json (docs/nightly.md shows one)' });
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(abs) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid ${/\.ya?ml$/i.test(abs) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
  const parsed = nightlyConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${path}: ${issues}`, { hint: 'docs/nightly.md lists every field' });
  }
  const config = parsed.data;
  for (const metric of Object.keys(config.gate.maxDrop)) {
    try { assertGateMetric(metric); } catch (err) { throw new ConfigError(`${path}: gate.maxDrop: ${(err as Error).message}`); }
    if (metric.startsWith('hits@') && Number(metric.slice(5)) > config.gate.k) throw new ConfigError(`${path}: gate.maxDrop ${metric} needs gate.k >= ${metric.slice(5)} (now ${config.gate.k})`);
    if (metric !== 'em' && metric !== 'f1') continue;
    if (config.gate.mode === 'retrieve-only') throw new ConfigError(`${path}: gate.maxDrop ${metric} needs a generator: set gate.mode to rag-token or rag-sequence`);
  }
  const g = config.retention.gcGraceHours;
  if (g !== 0 && g < 1 / 6) throw new ConfigError(`${path}: retention.gcGraceHours ${g} is shorter than 10 minutes`, { hint: 'use 1/6 or more, or 0 for one gc pass while no build runs' });
  const here = dirname(abs);
  const local = (p: string) => (p.startsWith('s3://') || isAbsolute(p) ? p : resolve(here, p));
  config.gate.questions = local(config.gate.questions);
  if ('pattern' in config.source) config.source.pattern = local(config.source.pattern);
  else config.source.newestUnder = local(config.source.newestUnder);
  return { config, path: abs, sha256: sha256(text) };
}
