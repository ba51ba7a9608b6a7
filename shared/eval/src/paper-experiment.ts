import { aggregate, type Aggregate } from './aggregate.js';
import { answerChanged, goldForYear } from './gold-year.js';
import type { QaRecord } from './qa-record.js';

/**
 * The RAG paper's index hot-swap experiment (Lewis et al. 2020, section 4.5): the same model, a 2016 index and a
 * 2018 index, questions about world leaders whose answer changed. Matched = an index scored against its own
 * year's answers (can the model read its index?); crossed = against the other year's (it should fail there, or it
 * answers from memory). Only single-fact questions whose answer changed test that, so the multi-fact questions of
 * a world file (two retrieval hops) are set aside here; the report lists them separately.
 */

export const PAPER_CITATION = 'Lewis et al. 2020, section 4.5';

/** The paper's figures per index year: 70% / 68% matched; 4% (2016 index, 2018 leaders) / 12% (2018 index, 2016 leaders) crossed. */
export const PAPER_HOT_SWAP: Readonly<Record<string, { matched: number; crossed: number; other: string }>> = {
  '2016': { matched: 0.70, crossed: 0.04, other: '2018' },
  '2018': { matched: 0.68, crossed: 0.12, other: '2016' },
};

/** The paper's figures for an index year scored against `otherYear`, when the pair is the paper's 2016/2018. */
export function paperFigures(indexYear: string, otherYear: string): { matched: number; crossed: number } | undefined {
  const p = PAPER_HOT_SWAP[indexYear];
  return p && p.other === otherYear ? { matched: p.matched, crossed: p.crossed } : undefined;
}

/** The question type of a world file that is the paper's experiment (single facts whose answer may change). */
export const PAPER_QUESTION_TYPE = 'changing';

export interface PaperArm {
  label: string;
  snapshot: string;
  year: string;
  otherYear: string;
  matched: Aggregate;
  crossed: Aggregate;
  paper?: { matched: number; crossed: number };
}

export interface PaperExperiment {
  /** What the questions are, in words. */
  questions: string;
  /** Questions in the experiment (the larger of the two arms). */
  n: number;
  /** Questions of the run left out (answer unchanged, or another type). */
  excluded: number;
  /** The question types left out, e.g. ['multi-fact']. */
  excludedTypes: string[];
  arms: [PaperArm, PaperArm];
}

interface ArmLike {
  label: string;
  snapshot: string;
  year?: string;
  records: readonly QaRecord[];
}

/** The experiment's numbers, or null when the arms lack two distinct years or no question's answer changed. */
export function findPaperExperiment(a: ArmLike, b: ArmLike): PaperExperiment | null {
  if (!a.year || !b.year || a.year === b.year) return null;
  const typed = [...a.records, ...b.records].some((r) => r.type !== undefined);
  const inExperiment = (r: QaRecord) => answerChanged(r, a.year!, b.year!) && (!typed || r.type === PAPER_QUESTION_TYPE);
  const excludedTypes = new Set<string>();
  const arm = (x: ArmLike, other: string): { arm: PaperArm; kept: number; left: number } => {
    const kept = x.records.filter(inExperiment);
    for (const r of x.records) if (r.type !== undefined && r.type !== PAPER_QUESTION_TYPE) excludedTypes.add(r.type);
    const paper = paperFigures(x.year!, other);
    return {
      arm: {
        label: x.label, snapshot: x.snapshot, year: x.year!, otherYear: other,
        matched: aggregate(kept, { gold: (r) => goldForYear(r, x.year!, x.year) }),
        crossed: aggregate(kept, { gold: (r) => goldForYear(r, other, x.year) }),
        ...(paper ? { paper } : {}),
      },
      kept: kept.length,
      left: x.records.length - kept.length,
    };
  };
  const ra = arm(a, b.year);
  const rb = arm(b, a.year);
  const n = Math.max(ra.kept, rb.kept);
  if (n === 0) return null;
  const questions = typed
    ? `single-fact questions whose answer changed between ${a.year} and ${b.year} (type ${PAPER_QUESTION_TYPE})`
    : `questions whose answer changed between ${a.year} and ${b.year}`;
  return { questions, n, excluded: Math.max(ra.left, rb.left), excludedTypes: [...excludedTypes].sort(), arms: [ra.arm, rb.arm] };
}
