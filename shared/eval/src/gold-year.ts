import { normalizeAnswer } from './answer-metrics.js';
import type { QaRecord } from './qa-record.js';

/** The gold a record has for a year: gold_by_year first, else its own gold if that is the year's. */
export function goldForYear(r: Pick<QaRecord, 'gold' | 'gold_by_year' | 'year'>, year: string, armYear?: string): readonly string[] | undefined {
  const byYear = r.gold_by_year?.[year];
  if (byYear?.length) return byYear;
  const own = r.year ?? armYear;
  return own === year ? r.gold : undefined;
}

/** True when the record has golds for both years and they share no answer after SQuAD normalisation. */
export function answerChanged(r: Pick<QaRecord, 'gold' | 'gold_by_year' | 'year'>, yearA: string, yearB: string): boolean {
  const ga = goldForYear(r, yearA);
  const gb = goldForYear(r, yearB);
  if (!ga?.length || !gb?.length) return false;
  const a = new Set(ga.map(normalizeAnswer));
  return !gb.some((x) => a.has(normalizeAnswer(x)));
}
