import type { ObjectStore } from '@rag/storage';
import { AliasConflictError, type AliasRegistry } from '@rag/registry';
import { PromotionConflictError } from './nightly-errors.js';
import { gateKey, gateRecordSchema, type GateRecord } from './night-record.js';
import type { GateResult } from './quality-gate.js';

export interface PromotionInput {
  store: ObjectStore;
  aliases: AliasRegistry;
  alias: string;
  candidate: string;
  /** What the alias served when the gate read it: the flip is a compare-and-set on this version. Absent: the alias must not exist yet. */
  baseline?: { snapshot: string; version: number };
  /** The gate's result; absent on a first night (nothing to compare against). */
  result?: GateResult;
  by: string;
  night?: string;
  questions?: GateRecord['questions'];
  settings?: GateRecord['settings'];
}

/**
 * Acts on a gate decision and records it (`gates/<alias>/…`, listed by `alias history`): a pass flips the
 * alias with compare-and-set on the version that was evaluated, so a flip made meanwhile (a manual
 * `alias set`, another promotion) makes this one fail instead of being overwritten; a hold flips nothing.
 */
/** A stored gate decision and where it is stored. */
export type GateDecision = GateRecord & { key: string };

export async function applyGateDecision(o: PromotionInput): Promise<GateDecision> {
  const at = new Date().toISOString();
  const key = gateKey(o.alias, at, o.candidate);
  const summary = o.result?.summary ?? `first night: ${o.alias} did not exist, nothing to gate against`;
  const base: Omit<GateRecord, 'outcome'> = {
    v: 1, alias: o.alias, candidate: o.candidate, ...(o.baseline ? { baseline: o.baseline } : {}), at, by: o.by,
    ...(o.questions ? { questions: o.questions } : {}), ...(o.settings ? { settings: o.settings } : {}),
    passed: o.result?.passed ?? true, metrics: o.result?.metrics ?? [], reasons: o.result?.reasons ?? [], summary, ...(o.night ? { night: o.night } : {}),
  };
  const write = async (rec: GateRecord) => {
    await o.store.put(key, JSON.stringify(gateRecordSchema.parse(rec), null, 2) + '\n');
    return { ...rec, key };
  };
  if (o.result && !o.result.passed) return write({ ...base, outcome: 'held' });
  try {
    const flipped = await o.aliases.set(o.alias, o.candidate, { expectVersion: o.baseline?.version ?? 0, by: o.by, gate: { summary, key } });
    return await write({ ...base, outcome: 'promoted', aliasVersion: flipped.version });
  } catch (err) {
    if (!(err instanceof AliasConflictError)) throw err;
    await write({ ...base, outcome: 'conflict' });
    const now = await o.aliases.get(o.alias);
    const was = o.baseline ? `version ${o.baseline.version} (${o.baseline.snapshot})` : 'not set';
    throw new PromotionConflictError(
      `not promoted: alias ${o.alias} moved while ${o.candidate} was being evaluated (was ${was}, now version ${now?.version ?? '?'} -> ${now?.snapshot ?? '?'}${now?.by ? ` by ${now.by}` : ''}); the gate compared against what it no longer serves`,
      { hint: `evaluate again against what ${o.alias} serves now: ./rag promote --candidate ${o.candidate} --alias ${o.alias} …`, cause: err },
    );
  }
}
