import { corpusBleu1, sentenceBleu1 } from './bleu.js';
import { feverAccuracy, parseFeverLabel } from './fever-label.js';
import { meanQBleu1, qBleu1 } from './q-bleu.js';
import { meanRougeL, rougeL } from './rouge-l.js';

/**
 * The RAG paper's tasks besides open-domain QA, and how each is scored. A question file of one of these tasks
 * (see question-file.ts) gives every question the task's references; records carry them as `task` and
 * `references`, and the run summary gets a `task` block beside EM/F1:
 *
 *   msmarco   MS-MARCO NLG (abstractive answers): BLEU-1 (corpus-level, sacrebleu) and ROUGE-L (mean of each
 *             item's best-reference F, rouge-score)
 *   jeopardy  Jeopardy question generation (input: the answer entity, output: the clue): Q-BLEU-1 (mean of the
 *             items) and BLEU-1 (corpus-level)
 *   fever     FEVER fact verification (input: the claim, output read as a label): 3-way and 2-way label accuracy
 *
 * 'open-qa' (NQ-open, the world's questions, DPR files) is what EM/F1 score; it has no task block. A failed
 * record counts as an empty output (BLEU/ROUGE 0 for it, an unreadable label), as EM counts it wrong.
 */

export const QA_TASKS = ['open-qa', 'msmarco', 'jeopardy', 'fever'] as const;
export type QaTask = (typeof QA_TASKS)[number];
/** The tasks with their own metrics (all but open-qa). */
export type GenerationTask = Exclude<QaTask, 'open-qa'>;

/** Each task's summary metrics, in the order they are shown, with the names the paper gives them. */
export const TASK_METRICS: Readonly<Record<GenerationTask, readonly { key: string; label: string }[]>> = {
  msmarco: [{ key: 'bleu1', label: 'BLEU-1' }, { key: 'rougeL', label: 'ROUGE-L' }],
  jeopardy: [{ key: 'qBleu1', label: 'Q-BLEU-1' }, { key: 'bleu1', label: 'BLEU-1' }],
  fever: [{ key: 'fever3', label: 'FEVER-3 acc' }, { key: 'fever2', label: 'FEVER-2 acc' }],
};

export const TASK_NAMES: Readonly<Record<GenerationTask, string>> = {
  msmarco: 'MS-MARCO NLG',
  jeopardy: 'Jeopardy question generation',
  fever: 'FEVER',
};

export function isGenerationTask(task: string | undefined): task is GenerationTask {
  return task !== undefined && task in TASK_METRICS;
}

/** The summary's task block: metrics are fractions in [0, 1] (null when nothing was scored). */
export interface TaskSummary {
  name: GenerationTask;
  /** Records scored (those with references; failures included, as empty outputs). */
  scored: number;
  metrics: Record<string, number | null>;
  /** Counts beside the metrics: FEVER's 2-way items and predictions that named no label. */
  counts?: Record<string, number>;
}

/** The fields task scoring reads; QaRecord has them all. */
export interface TaskScorableRecord {
  answer?: string;
  error?: string;
  mode?: string;
  task?: string;
  references?: readonly string[];
}

const RETRIEVE_ONLY = 'retrieve-only';

/** One record's own scores (sentence-level), for the record's `task_scores`; undefined without references. */
export function taskRecordScores(task: string | undefined, output: string, references: readonly string[] | undefined): Record<string, number> | undefined {
  if (!isGenerationTask(task) || !references?.length) return undefined;
  switch (task) {
    case 'msmarco':
      return { bleu1: sentenceBleu1(output, references).score, rougeL: rougeL(output, references).fmeasure };
    case 'jeopardy':
      return { qBleu1: qBleu1(output, references).qBleu1, bleu1: sentenceBleu1(output, references).score };
    case 'fever': {
      const gold = parseFeverLabel(references[0]!);
      return { correct: gold !== null && parseFeverLabel(output) === gold ? 1 : 0 };
    }
  }
}

/**
 * The task block of a run's summary, computed from each record's output and references (never from stored
 * per-record scores: corpus BLEU is not a mean of them). Undefined when no record belongs to a task with its
 * own metrics. Records of another task than the first one met are ignored (a run has one question file).
 */
export function summarizeTask(records: Iterable<TaskScorableRecord>): TaskSummary | undefined {
  let task: GenerationTask | undefined;
  const items: { output: string; references: readonly string[] }[] = [];
  for (const r of records) {
    if (r.mode === RETRIEVE_ONLY || !isGenerationTask(r.task) || !r.references?.length) continue;
    task ??= r.task;
    if (r.task !== task) continue;
    items.push({ output: r.error !== undefined ? '' : (r.answer ?? ''), references: r.references });
  }
  if (!task) return undefined;
  const scored = items.length;
  switch (task) {
    case 'msmarco':
      return {
        name: task, scored,
        metrics: {
          bleu1: corpusBleu1(items.map((i) => ({ hypothesis: i.output, references: i.references }))).score,
          rougeL: meanRougeL(items.map((i) => ({ prediction: i.output, references: i.references }))),
        },
      };
    case 'jeopardy':
      return {
        name: task, scored,
        metrics: {
          qBleu1: meanQBleu1(items.map((i) => ({ candidate: i.output, references: i.references })))?.qBleu1 ?? null,
          bleu1: corpusBleu1(items.map((i) => ({ hypothesis: i.output, references: i.references }))).score,
        },
      };
    case 'fever': {
      const acc = feverAccuracy(items.map((i) => ({ prediction: i.output, gold: i.references[0]! })));
      return {
        name: task, scored,
        metrics: { fever3: acc.threeWay.accuracy, fever2: acc.twoWay.accuracy },
        counts: { twoWay: acc.twoWay.total, unreadable: acc.unreadable },
      };
    }
  }
}

/** "FEVER: FEVER-3 acc 61.0%, FEVER-2 acc 70.2% of 100 (3 unreadable)"; "MS-MARCO NLG: BLEU-1 21.3, ROUGE-L 30.1 of 40". */
export function formatTaskSummary(t: TaskSummary): string {
  const metrics = TASK_METRICS[t.name].map((m) => `${m.label} ${formatTaskMetric(t.name, t.metrics[m.key])}`).join(', ');
  const unreadable = t.counts?.unreadable ? ` (${t.counts.unreadable} output(s) named no label)` : '';
  return `${TASK_NAMES[t.name]}: ${metrics} of ${t.scored}${unreadable}`;
}

/** BLEU/ROUGE as the paper prints them (×100, one decimal); accuracies as percentages. */
export function formatTaskMetric(task: GenerationTask, x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  return `${(x * 100).toFixed(1)}${task === 'fever' ? '%' : ''}`;
}
