import { resolve } from 'node:path';
import { UsageError } from '@rag/core';
import { AliasRegistry, defaultActor } from '@rag/registry';
import { applyGateDecision, assertGateMetric, GateHeldError, type GateRecord } from '@rag/nightly';
import { createRuntime } from '../runtime.js';
import { openQueueSession } from '../queue-session.js';
import { evaluateCandidate, printGate, type GateSettings } from '../gate-runner.js';
import { generationWorkers } from './qa.js';

export interface PromoteOptions {
  candidate: string;
  alias: string;
  questions: string;
  year?: string;
  limit?: number;
  mode: string;
  k: number;
  beams: number;
  maxDrop: string[];
  alpha: number;
  minQuestions: number;
  workers?: number;
  json?: boolean;
  progress?: boolean;
}

/** `--max-drop hits@20=1 --max-drop em=2` → { 'hits@20': 1, em: 2 }. */
export function parseMaxDrop(values: readonly string[], k: number, mode: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([a-z0-9@]+)=([0-9.]+)$/.exec(v.trim());
    if (!m || !Number.isFinite(Number(m[2]))) throw new UsageError(`--max-drop ${v}: expected METRIC=POINTS`, { hint: 'e.g. --max-drop hits@20=1 (hits@20 may fall by at most 1 percentage point)' });
    try { assertGateMetric(m[1]!); } catch (err) { throw new UsageError(`--max-drop ${v}: ${(err as Error).message}`); }
    if (m[1]!.startsWith('hits@') && Number(m[1]!.slice(5)) > k) throw new UsageError(`--max-drop ${m[1]} needs --k ${m[1]!.slice(5)} or more`);
    if ((m[1] === 'em' || m[1] === 'f1') && mode === 'retrieve-only') throw new UsageError(`--max-drop ${m[1]} needs a generator: pass --mode rag-token or rag-sequence`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Who acts, as alias versions and gate records say it: `promote root@host`, `nightly /etc/rag/nightly.json root@host`. */
export function actor(what: string): string {
  return `${what} ${defaultActor()}`;
}

/**
 * `rag promote`: the quality gate before a flip. The candidate and what the alias serves answer the canary
 * questions; a pass flips the alias with compare-and-set on the evaluated version, a hold exits 3 naming
 * the failed threshold with its numbers.
 */
export async function promote(o: PromoteOptions): Promise<GateRecord> {
  const gate: GateSettings = {
    questions: resolve(o.questions), ...(o.year ? { year: o.year } : {}), ...(o.limit ? { limit: o.limit } : {}),
    mode: o.mode as GateSettings['mode'], k: o.k, beams: o.beams, maxDrop: parseMaxDrop(o.maxDrop, o.k, o.mode), alpha: o.alpha, minQuestions: o.minQuestions,
  };
  const rt = createRuntime();
  const aliases = new AliasRegistry({ store: rt.store, prefix: rt.config.redis.prefix, logger: rt.logger });
  try {
    if (!(await aliases.snapshots.isPublished(o.candidate))) throw new UsageError(`candidate ${o.candidate} is not a published snapshot`, { hint: './rag snapshot list shows them' });
    const current = await aliases.get(o.alias);
    let rec: GateRecord;
    if (!current) {
      process.stderr.write(`promote: alias ${o.alias} does not exist yet: nothing to gate against, creating it\n`);
      rec = await applyGateDecision({ store: rt.store, aliases, alias: o.alias, candidate: o.candidate, by: actor('promote') });
    } else {
      if (current.snapshot === o.candidate) throw new UsageError(`alias ${o.alias} already points at ${o.candidate} (version ${current.version})`);
      const baseline = { snapshot: current.snapshot, version: current.version };
      process.stderr.write(`promote: evaluating ${o.candidate} against ${o.alias} = ${current.snapshot} (version ${current.version})\n`);
      const session = await openQueueSession(rt.config, rt.logger, { workers: generationWorkers(rt, o.workers), roles: 'generate' });
      let ev;
      try {
        ev = await evaluateCandidate(rt, session, { served: current.snapshot, candidate: o.candidate, gate, progress: o.progress });
      } finally {
        await session.close();
      }
      printGate(current.snapshot, o.candidate, ev);
      rec = await applyGateDecision({
        store: rt.store, aliases, alias: o.alias, candidate: o.candidate, baseline, result: ev.result, by: actor('promote'),
        questions: ev.questions, settings: { mode: gate.mode, k: gate.k, alpha: gate.alpha, minQuestions: gate.minQuestions, maxDrop: gate.maxDrop },
      });
    }
    if (o.json) process.stdout.write(JSON.stringify(rec, null, 2) + '\n');
    else process.stdout.write(rec.outcome === 'promoted' ? `promoted: ${o.alias} -> ${o.candidate} (version ${rec.aliasVersion}); ${rec.summary}\n` : `held: ${o.alias} stays on ${current?.snapshot}; ${rec.summary}\n`);
    if (rec.outcome === 'held') {
      throw new GateHeldError(`${o.candidate} held by the quality gate: ${rec.reasons.join('; ')}`, { hint: `${o.alias} still serves ${current?.snapshot}; the decision is kept in ${rt.store.description} (./rag alias history ${o.alias})` });
    }
    return rec;
  } finally {
    await aliases.close();
    await rt.store.close();
  }
}
