import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '@rag/core';
import { compareAb, formatAbTable, renderAbReport, type AbArm, type AbComparison, type TaskSummary } from '@rag/eval';
import type { QuestionSet } from '@rag/qa';
import { createRuntime } from '../runtime.js';
import { resolveTarget } from '../as-of.js';
import { openQueueSession } from '../queue-session.js';
import { changedQuestionSets, limitSet, loadQuestionSet, parseMode, parseTypes, runQa, selectTypes, type QaRunResult } from '../qa-runner.js';
import { generationWorkers, writeJsonl } from './qa.js';

export interface AbOptions {
  questions: string;
  a: string;
  b: string;
  out: string;
  yearA?: string;
  yearB?: string;
  mode: string;
  k: number;
  beams: number;
  limit?: number;
  workers?: number;
  json?: boolean;
  fresh?: boolean;
  progress?: boolean;
  answers?: string;
  changedOnly?: boolean;
  /** Comma-separated question types to keep (world files), e.g. 'changing'. */
  type?: string;
  /** Aliases as they were at this moment (both arms), or per arm. */
  asOf?: string;
  asOfA?: string;
  asOfB?: string;
}

export interface AbArmJson {
  target: string;
  snapshot: string;
  year?: string;
  n: number;
  failed: number;
  em: number | null;
  f1: number | null;
  /** EM against the other arm's gold year (the paper's crossed cell), when both years are given. */
  emCrossed?: number | null;
  latencyMs: { mean: number; p50: number; p95: number } | null;
  /** The paper's other tasks (MS-MARCO, Jeopardy, FEVER): the arm's task metrics. */
  task?: TaskSummary;
}

function armOf(label: string, target: string, year: string | undefined, r: QaRunResult): AbArm {
  const snaps = Object.keys(r.summary.snapshots);
  return { label, snapshot: snaps.length === 1 ? snaps[0]! : snaps.join('+') || target, ...(year ? { year } : {}), records: r.records };
}

export interface AbTypeJson {
  n: number;
  a: { em: number | null; emCrossed?: number | null };
  b: { em: number | null; emCrossed?: number | null };
}

export interface AbPaperArmJson {
  year: string;
  /** EM against the index year's own answers, and against the other year's. */
  em: number | null;
  emCrossed: number | null;
  /** The paper's figures for this index (Lewis et al. 2020, section 4.5), when the years are 2016 and 2018. */
  paper?: { em: number; emCrossed: number };
}

export interface AbJson {
  /** The paper's experiment: single-fact questions whose answer changed (world type 'changing'). */
  paper?: { questions: string; n: number; a: AbPaperArmJson; b: AbPaperArmJson };
  a: AbArmJson;
  b: AbArmJson;
  /** Per question type (world files): the paper's experiment is type 'changing'. */
  byType?: Record<string, AbTypeJson>;
}

/** The machine-readable summary `ab --json` prints. */
export function abJson(cmp: AbComparison, targets: [string, string]): AbJson {
  const arm = (i: 0 | 1): AbArmJson => {
    const s = cmp.arms[i];
    const crossed = cmp.cross?.[i].find((c) => !c.matched);
    return {
      target: targets[i], snapshot: s.snapshot, ...(s.year ? { year: s.year } : {}),
      n: s.scores.n, failed: s.scores.failed, em: s.scores.em, f1: s.scores.f1,
      ...(crossed ? { emCrossed: crossed.scores.em } : {}),
      latencyMs: s.latency,
      ...(s.task ? { task: s.task } : {}),
    };
  };
  const byType = cmp.byType.length
    ? Object.fromEntries(cmp.byType.map((t) => [t.type, {
      n: t.n,
      a: { em: t.a.em, ...(t.crossed ? { emCrossed: t.crossed.a.em } : {}) },
      b: { em: t.b.em, ...(t.crossed ? { emCrossed: t.crossed.b.em } : {}) },
    }]))
    : undefined;
  const paperArm = (i: 0 | 1): AbPaperArmJson => {
    const p = cmp.paper!.arms[i];
    return { year: p.year, em: p.matched.em, emCrossed: p.crossed.em, ...(p.paper ? { paper: { em: p.paper.matched, emCrossed: p.paper.crossed } } : {}) };
  };
  const paper = cmp.paper ? { questions: cmp.paper.questions, n: cmp.paper.n, a: paperArm(0), b: paperArm(1) } : undefined;
  return { ...(paper ? { paper } : {}), a: arm(0), b: arm(1), ...(byType ? { byType } : {}) };
}

/** The same questions against two snapshots (or aliases): EM/F1 per arm, differing answers, an HTML report. */
export async function ab(o: AbOptions): Promise<AbJson> {
  const mode = parseMode(o.mode);
  const asOfA = o.asOfA ?? o.asOf;
  const asOfB = o.asOfB ?? o.asOf;
  if (o.a === o.b && o.yearA === o.yearB && asOfA === asOfB) throw new UsageError('--a and --b are the same arm', { hint: 'compare two snapshots, or one snapshot against two gold years' });
  const crossed = !!(o.yearA && o.yearB && o.yearA !== o.yearB);
  if (o.changedOnly && !crossed) throw new UsageError('--changed-only needs --year-a and --year-b with different years');
  let setA: QuestionSet | undefined;
  let setB: QuestionSet | undefined;
  const types = parseTypes(o.type);
  if (o.changedOnly) {
    const c = await changedQuestionSets(o.questions, o.yearA!, o.yearB!, types ? undefined : o.limit);
    setA = c.a;
    setB = c.b;
    process.stderr.write(`ab: ${c.a.questions.length} of ${c.total} questions have different answers in ${o.yearA} and ${o.yearB}\n`);
  }
  if (types) {
    setA = limitSet(selectTypes(setA ?? (await loadQuestionSet(o.questions, { year: o.yearA })).set, types), o.limit);
    setB = limitSet(selectTypes(setB ?? (await loadQuestionSet(o.questions, { year: o.yearB })).set, types), o.limit);
    process.stderr.write(`ab: ${setA.questions.length} question(s) of type ${types.join(', ')}\n`);
  }
  const rt = createRuntime();
  const targetA = await resolveTarget(rt, o.a, asOfA, 'A: ');
  const targetB = await resolveTarget(rt, o.b, asOfB, 'B: ');
  const session = await openQueueSession(rt.config, rt.logger, { workers: generationWorkers(rt, o.workers), roles: 'generate' });
  let ra: QaRunResult, rb: QaRunResult;
  try {
    const common = { questions: o.questions, mode, k: o.k, beams: o.beams, limit: o.limit, fresh: o.fresh, progress: o.progress };
    ra = await runQa(rt, session, { ...common, target: targetA, year: o.yearA, label: `A ${o.a}`, set: setA });
    rb = await runQa(rt, session, { ...common, target: targetB, year: o.yearB, label: `B ${o.b}`, set: setB });
  } finally {
    await session.close();
  }
  // Labels are what was asked for (an alias or a snapshot id); the report adds the side and the resolved snapshot.
  const labelA = asOfA ? `${o.a}@${asOfA}` : o.a;
  const labelB = asOfB ? `${o.b}@${asOfB}` : o.b;
  const a = armOf(labelA, o.a, o.yearA, ra);
  const b = armOf(labelB, o.b, o.yearB, rb);
  const cmp = compareAb(a, b);
  await writeFile(resolve(o.out), renderAbReport({ title: abTitle(labelA, labelB, o.changedOnly === true, types), a, b }));
  if (o.answers) {
    await writeJsonl(`${o.answers}.a.jsonl`, ra.records);
    await writeJsonl(`${o.answers}.b.jsonl`, rb.records);
  }
  const json = abJson(cmp, [labelA, labelB]);
  if (o.json) {
    process.stdout.write(JSON.stringify(json) + '\n');
  } else {
    process.stdout.write(formatAbTable(cmp) + '\n');
    process.stdout.write(`report: ${resolve(o.out)}\n`);
  }
  return json;
}

/**
 * The report's title: "A/B: prod vs world-142-2018 (questions whose answer changed)". World type `changing` is
 * the same subset in other words, so it is not said twice; other types are named once beside it.
 */
export function abTitle(a: string, b: string, changedOnly: boolean, types: readonly string[] | undefined): string {
  const parts: string[] = [];
  if (changedOnly) parts.push('questions whose answer changed');
  const named = (types ?? []).filter((t) => !(changedOnly && t === 'changing'));
  if (named.length) parts.push(`type ${named.join(', ')}`);
  else if (types?.length && !changedOnly) parts.push(`type ${types.join(', ')}`);
  return `A/B: ${a} vs ${b}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}
