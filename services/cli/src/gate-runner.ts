import { SnapshotRegistry, passageChanges } from '@rag/snapshot';
import { evaluateGate, explainChanges, type ChangedAnswer, type GateResult, type NightlyConfig } from '@rag/nightly';
import type { Runtime } from './runtime.js';
import type { QueueSession } from './queue-session.js';
import { runQa, type QaRunResult } from './qa-runner.js';

export type GateSettings = NightlyConfig['gate'];

export interface CandidateEvaluation {
  result: GateResult;
  a: QaRunResult;
  b: QaRunResult;
  /** Canary questions whose answer (retrieve-only: top passage) changed, with the page edits behind each. */
  changed: ChangedAnswer[];
  questions: { path: string; sha256: string; n: number };
}

/**
 * The quality gate's evidence: the canary questions answered on what the alias serves (pinned by snapshot
 * id: a flip during the evaluation must not change arm A) and on the candidate, scored pair by pair.
 */
export async function evaluateCandidate(rt: Runtime, session: QueueSession, o: { served: string; candidate: string; gate: GateSettings; progress?: boolean }): Promise<CandidateEvaluation> {
  const g = o.gate;
  const common = { questions: g.questions, year: g.year, limit: g.limit, mode: g.mode, k: g.k, beams: g.beams, progress: o.progress };
  const a = await runQa(rt, session, { ...common, target: o.served, label: `served ${o.served}` });
  const b = await runQa(rt, session, { ...common, target: o.candidate, label: `candidate ${o.candidate}` });
  const result = evaluateGate(a.records, b.records, { maxDrop: g.maxDrop, alpha: g.alpha, minQuestions: g.minQuestions });
  const registry = new SnapshotRegistry(rt.store);
  const [ma, mb] = await Promise.all([registry.read(o.served), registry.read(o.candidate)]);
  const edits = ma.pages && mb.pages ? await passageChanges(rt.store, ma, mb) : new Map();
  const changed = explainChanges(a.records, b.records, edits, { retrieveOnly: g.mode === 'retrieve-only' });
  return { result, a, b, changed, questions: { path: a.summary.questions?.path ?? g.questions, sha256: a.summary.questions?.sha256 ?? '', n: a.records.length } };
}

/** Prints the gate's lines on stderr: what was compared, each metric, the decision. */
export function printGate(served: string, candidate: string, ev: CandidateEvaluation, out: NodeJS.WritableStream = process.stderr): void {
  out.write(`gate: ${candidate} against ${served} on ${ev.questions.n} canary question(s)\n`);
  for (const m of ev.result.metrics) out.write(`  ${m.line}\n`);
  out.write(`gate: ${ev.result.passed ? 'pass' : 'hold'}; ${ev.changed.length} answer(s) changed\n`);
}
