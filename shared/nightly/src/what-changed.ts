/** A passage that differs between the two snapshots (see passageChanges in @rag/snapshot). */
export interface PassageEdit {
  kind: 'added' | 'removed' | 'changed';
  page: string;
  title: string;
}

/** What the report reads of a QA record. */
export interface ChangeRecord {
  id: string;
  question: string;
  answer: string;
  docs: readonly { id: string; title: string; score: number }[];
  gold_rank?: number | null;
  error?: string;
}

export interface ChangedAnswer {
  id: string;
  question: string;
  /** Each arm's answer (empty in retrieve-only) and top passage. */
  a: { answer: string; top?: { id: string; title: string }; goldRank?: number | null };
  b: { answer: string; top?: { id: string; title: string }; goldRank?: number | null };
  /** The edited passages among either arm's retrieved documents: what made the answer change. */
  causes: { passage: string; kind: PassageEdit['kind']; page: string; title: string; arm: 'a' | 'b' }[];
}

const norm = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');

/**
 * The questions whose answer (or, without a generator, top passage) changed from A to B, each with the
 * page edits that caused it: the added, removed or edited passages among the documents either arm
 * retrieved. A removed passage can only have been retrieved by A, an added one only by B; an edited one
 * by either. A change with no cause among the retrieved documents is a ranking shift (edits elsewhere
 * moved other passages); it is listed with no cause.
 */
export function explainChanges(a: readonly ChangeRecord[], b: readonly ChangeRecord[], edits: ReadonlyMap<string, PassageEdit>, o: { retrieveOnly: boolean }): ChangedAnswer[] {
  const byId = new Map(b.map((r) => [r.id, r]));
  const out: ChangedAnswer[] = [];
  for (const ra of a) {
    const rb = byId.get(ra.id);
    if (!rb || ra.error || rb.error) continue;
    const topA = ra.docs[0];
    const topB = rb.docs[0];
    const changed = o.retrieveOnly
      ? topA?.id !== topB?.id || (topB !== undefined && edits.get(topB.id)?.kind === 'changed')
      : norm(ra.answer) !== norm(rb.answer);
    if (!changed) continue;
    const causes: ChangedAnswer['causes'] = [];
    const seen = new Set<string>();
    for (const [arm, docs] of [['a', ra.docs], ['b', rb.docs]] as const) {
      for (const d of docs) {
        const e = edits.get(d.id);
        if (!e || seen.has(d.id)) continue;
        seen.add(d.id);
        causes.push({ passage: d.id, kind: e.kind, page: e.page, title: e.title, arm });
      }
    }
    const side = (r: ChangeRecord) => ({ answer: r.answer, ...(r.docs[0] ? { top: { id: r.docs[0].id, title: r.docs[0].title } } : {}), ...(r.gold_rank !== undefined ? { goldRank: r.gold_rank } : {}) });
    out.push({ id: ra.id, question: ra.question, a: side(ra), b: side(rb), causes });
  }
  return out;
}

/** "removed Thundheim (3 passages), changed Lakvik; +4 more pages": a changed answer's causes grouped by page, in one line. */
export function causeSummary(causes: ChangedAnswer['causes'], max = 4): string {
  if (!causes.length) return 'ranking shift: no retrieved passage was edited';
  const byPage = new Map<string, { kind: string; title: string; n: number }>();
  for (const c of causes) {
    const key = `${c.kind}\0${c.page}`;
    const e = byPage.get(key);
    if (e) e.n++;
    else byPage.set(key, { kind: c.kind, title: c.title, n: 1 });
  }
  const all = [...byPage.values()];
  const shown = all.slice(0, max).map((e) => `${e.kind} ${e.title}${e.n > 1 ? ` (${e.n} passages)` : ''}`);
  return shown.join(', ') + (all.length > max ? `; +${all.length - max} more page(s)` : '');
}
