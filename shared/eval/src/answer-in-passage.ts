/**
 * Retrieval accuracy as DPR reports it (Karpukhin et al. 2020, "top-k retrieval accuracy"): a question is a hit at
 * K when one of its top-K passages contains a gold answer string. The match is DPR's `has_answer` with string
 * matching: both sides Unicode-NFD-normalised, lowercased and cut into tokens (runs of letters, digits and marks;
 * every other visible character a token of its own), and the answer's tokens must occur contiguously in the
 * passage's. Passage text only, as DPR; the title does not count.
 */

const TOKEN = /[\p{L}\p{N}\p{M}]+|[^\p{Z}\p{C}]/gu;

export function matchTokens(text: string): string[] {
  return text.normalize('NFD').toLowerCase().match(TOKEN) ?? [];
}

function containsRun(hay: readonly string[], needle: readonly string[]): boolean {
  if (!needle.length) return false;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** True when the passage text contains one of the gold answers (DPR's has_answer, string match). */
export function hasAnswer(text: string, golds: readonly string[]): boolean {
  const hay = matchTokens(text);
  return golds.some((g) => containsRun(hay, matchTokens(g)));
}

/** 1-based rank of the first passage (best first) that contains a gold answer; null when none does. */
export function goldRank(passages: readonly string[], golds: readonly string[]): number | null {
  for (let i = 0; i < passages.length; i++) if (hasAnswer(passages[i]!, golds)) return i + 1;
  return null;
}

/** The K values reported: DPR's 1, 5, 20, 100 up to the K retrieved, and that K itself. */
export function reportedKs(k: number): number[] {
  const ks = [1, 5, 20, 100].filter((x) => x <= k);
  if (!ks.includes(k)) ks.push(k);
  return ks;
}

export interface RetrievalHits {
  /** Passages retrieved per question (the smallest K over the scored records). */
  k: number;
  /** Questions with a gold answer and retrieved passages. */
  scored: number;
  /** hits[K]: the fraction of scored questions with a gold answer in their top K passages. */
  hits: Record<string, number>;
}

/** hits@K over records that carry gold_rank (set when a question has gold and passages were retrieved). */
export function retrievalHits(records: Iterable<{ gold_rank?: number | null; k: number }>): RetrievalHits | null {
  const ranks: (number | null)[] = [];
  let k = Infinity;
  for (const r of records) {
    if (r.gold_rank === undefined) continue; // a failed generation still had its retrieval
    ranks.push(r.gold_rank);
    k = Math.min(k, r.k);
  }
  if (!ranks.length) return null;
  const hits: Record<string, number> = {};
  for (const K of reportedKs(k)) hits[String(K)] = ranks.filter((x) => x !== null && x <= K).length / ranks.length;
  return { k, scored: ranks.length, hits };
}

/**
 * Which questions have a gold answer somewhere in a corpus (DPR's has_answer over every passage): the ceiling
 * of hits@K on that corpus. On a sample of a few hundred pages most NQ answers occur nowhere, so hits@K says
 * little without it. Passages are fed one at a time; answers are indexed by their first token, so a passage
 * costs one lookup per token.
 */
export class GoldCoverage {
  private readonly byFirst = new Map<string, { question: number; tokens: string[] }[]>();
  private readonly found = new Set<number>();
  private readonly questions: number;
  passages = 0;

  constructor(golds: readonly (readonly string[])[]) {
    this.questions = golds.length;
    golds.forEach((answers, question) => {
      for (const a of answers) {
        const tokens = matchTokens(a);
        if (!tokens.length) continue;
        const list = this.byFirst.get(tokens[0]!) ?? [];
        list.push({ question, tokens });
        this.byFirst.set(tokens[0]!, list);
      }
    });
  }

  add(text: string): void {
    this.passages++;
    if (this.found.size === this.questions) return;
    const hay = matchTokens(text);
    for (let i = 0; i < hay.length; i++) {
      const list = this.byFirst.get(hay[i]!);
      if (!list) continue;
      for (const { question, tokens } of list) {
        if (this.found.has(question) || i + tokens.length > hay.length) continue;
        let j = 1;
        while (j < tokens.length && hay[i + j] === tokens[j]) j++;
        if (j === tokens.length) this.found.add(question);
      }
    }
  }

  /** Questions with a gold answer in some passage fed so far. */
  get answerable(): number {
    return this.found.size;
  }
}
