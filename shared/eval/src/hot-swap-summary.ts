import { aggregate } from './aggregate.js';
import { goldForYear } from './gold-year.js';
import { pct } from './html.js';
import type { QaRecord } from './qa-record.js';

/**
 * One run that followed an alias while it flipped (2016 snapshot → 2018 snapshot): its answers split by the
 * snapshot that produced them, each part scored against its own year's answers and the other year's. It shows
 * that answers follow the index from the flip on; it is not the accuracy measurement (the A/B is).
 */

export interface HotSwapPart {
  snapshot: string;
  year: string;
  otherYear: string;
  n: number;
  /** EM against the snapshot year's answers, and against the other year's. */
  em: number | null;
  emOther: number | null;
}

/** Parts in order of first appearance; `yearOf` names each snapshot's dump year. */
export function hotSwapParts(records: readonly QaRecord[], yearOf: (snapshot: string) => string, years: [string, string]): HotSwapPart[] {
  const by = new Map<string, QaRecord[]>();
  for (const r of records) by.set(r.snapshot, [...(by.get(r.snapshot) ?? []), r]);
  return [...by.entries()].map(([snapshot, recs]) => {
    const year = yearOf(snapshot);
    const otherYear = year === years[0] ? years[1] : years[0];
    return {
      snapshot, year, otherYear, n: recs.length,
      em: aggregate(recs, { gold: (r) => goldForYear(r, year) }).em,
      emOther: aggregate(recs, { gold: (r) => goldForYear(r, otherYear) }).em,
    };
  });
}

/** Terminal lines: one per part, then what the numbers mean. */
export function formatHotSwap(parts: readonly HotSwapPart[], o: { alias: string; questions: string }): string[] {
  const lines = parts.map((p, i) =>
    `   answered from ${p.snapshot} (${i === 0 ? 'before' : 'after'} the flip): ${p.n} questions; EM ${pct(p.em)}% against ${p.year}'s answers, ${pct(p.emOther)}% against ${p.otherYear}'s`);
  lines.push(`   What this shows: every answer records its snapshot, and answers follow ${o.alias} from the flip on, with no restart`);
  lines.push(`   (high EM against the serving snapshot's year, near 0 against the other). The split depends on timing, and these are`);
  lines.push(`   ${o.questions}, so step 4's A/B is the measurement.`);
  return lines;
}
