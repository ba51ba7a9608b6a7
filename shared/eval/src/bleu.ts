/**
 * BLEU-1, the unigram BLEU the RAG paper reports for MS-MARCO NLG and Jeopardy question generation, computed as
 * sacrebleu computes it with max_ngram_order=1: its default "13a" tokenizer (mteval-v13a.pl's), case kept unless
 * asked, clipped unigram matches over the references, and the brevity penalty against the closest reference length.
 *
 *   BLEU-1 = BP · m / c,   BP = 1 if c >= r else exp(1 - r / c)   (0 when c = 0)
 *
 * m = hypothesis unigrams matched (each capped by its highest count in any one reference), c = hypothesis length,
 * r = the reference length closest to c (the shorter on a tie). Corpus BLEU sums m, c and r over the items first.
 * Scores are fractions in [0, 1] like the other metrics here; sacrebleu prints 100 times that. At order 1 there is
 * nothing to smooth: no match gives 0. Checked against sacrebleu in bleu.test.ts (test/fixtures/text-metrics-reference.json).
 */

// Python's str.isspace() set, which str.split() and str.rstrip() use: JavaScript's \s lacks U+001C-U+001F and
// U+0085 and has U+FEFF, which Python keeps inside a token.
const PY_SPACE = '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACES = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_TRAILING_SPACES = new RegExp(`[${PY_SPACE}]+$`, 'u');

/** Python's `s.split()`: runs of Unicode whitespace separate, no empty pieces. */
export function pythonSplit(s: string): string[] {
  return s.split(PY_SPACES).filter((t) => t.length > 0);
}

/** Python's `s.rstrip()`. */
function pythonRstrip(s: string): string {
  return s.replace(PY_TRAILING_SPACES, '');
}

// 13a's punctuation rules, in order (sacrebleu's tokenizer_re.py). Rule 1 isolates ASCII symbols: the ranges
// { | } ~, [ \ ] ^ _ `, space ! " # $ % &, ( ) * +, : ; < = > ? @ and /. Left alone: ' , - . digits and letters,
// so "don't" and "state-of-the-art" stay one token. Rules 2-3 split . and , except between digits ("1,000.50"
// stays), rule 4 splits a dash after a digit ("1990-2000" -> "1990 - 2000").
const RULES_13A: ReadonlyArray<readonly [RegExp, string]> = [
  [/([\x7B-\x7E\x5B-\x60\x20-\x26\x28-\x2B\x3A-\x40\x2F])/gu, ' $1 '],
  [/([^0-9])([.,])/gu, '$1 $2 '],
  [/([.,])([^0-9])/gu, ' $1 $2'],
  [/([0-9])(-)/gu, '$1 $2 '],
];

/**
 * sacrebleu's 13a tokenizer on one segment, after BLEU's own preprocessing (optional lowercase, then rstrip), so
 * the tokens are exactly the ones BLEU counts. The language-independent part drops "<skipped>", joins words
 * hyphenated across lines, turns newlines into spaces and unescapes &quot; &amp; &lt; &gt; (one pass each, in
 * that order, as mteval does).
 */
export function tokenize13a(text: string, opts: { lowercase?: boolean } = {}): string[] {
  let line = pythonRstrip(opts.lowercase ? text.toLowerCase() : text);
  line = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (line.includes('&')) {
    line = line.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  line = ` ${line} `;
  for (const [re, replacement] of RULES_13A) line = line.replace(re, replacement);
  return pythonSplit(line);
}

export interface BleuOptions {
  /** Lowercase hypothesis and references before tokenising (sacrebleu's lowercase=True). Default false. */
  lowercase?: boolean;
}

/** BLEU-1's sufficient statistics: they add up over a corpus. */
export interface Bleu1Stats {
  /** Clipped unigram matches m. */
  matches: number;
  /** Hypothesis tokens c. */
  hypLen: number;
  /** Closest reference length r. */
  refLen: number;
}

export interface Bleu1Score extends Bleu1Stats {
  /** BP · m / c, in [0, 1]. */
  score: number;
  /** m / c (0 when c = 0). */
  precision: number;
  /** Brevity penalty. */
  bp: number;
}

function counts(tokens: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of tokens) out.set(t, (out.get(t) ?? 0) + 1);
  return out;
}

/** The reference length nearest the hypothesis length; the shorter one on a tie (sacrebleu, after mteval). */
function closestRefLength(hypLen: number, refLens: readonly number[]): number {
  let best = refLens[0]!;
  for (const len of refLens) {
    const d = Math.abs(hypLen - len), bestD = Math.abs(hypLen - best);
    if (d < bestD || (d === bestD && len < best)) best = len;
  }
  return best;
}

/**
 * One item's statistics against one or more references. A word counts at most as often as it appears in the
 * reference that has it most often (Papineni et al.'s clipping). An empty reference string is a reference of
 * length 0; an item without references is an error (sacrebleu would silently use length -1).
 */
export function bleu1Stats(hypothesis: string, references: readonly string[], opts: BleuOptions = {}): Bleu1Stats {
  if (references.length === 0) throw new RangeError('BLEU needs at least one reference per item');
  const hyp = tokenize13a(hypothesis, opts);
  const maxRef = new Map<string, number>();
  const refLens: number[] = [];
  for (const ref of references) {
    const tokens = tokenize13a(ref, opts);
    refLens.push(tokens.length);
    for (const [t, n] of counts(tokens)) maxRef.set(t, Math.max(maxRef.get(t) ?? 0, n));
  }
  let matches = 0;
  for (const [t, n] of counts(hyp)) matches += Math.min(n, maxRef.get(t) ?? 0);
  return { matches, hypLen: hyp.length, refLen: closestRefLength(hyp.length, refLens) };
}

/** BLEU-1 from (summed) statistics. */
export function bleu1FromStats(stats: Bleu1Stats): Bleu1Score {
  const { matches, hypLen, refLen } = stats;
  // Shorter output than the references is penalised: precision alone would reward saying little.
  const bp = hypLen >= refLen ? 1 : hypLen > 0 ? Math.exp(1 - refLen / hypLen) : 0;
  const precision = hypLen > 0 ? matches / hypLen : 0;
  return { ...stats, precision, bp, score: matches > 0 ? bp * precision : 0 };
}

/** Sentence-level BLEU-1 (sacrebleu's sentence_score with max_ngram_order=1). */
export function sentenceBleu1(hypothesis: string, references: readonly string[], opts: BleuOptions = {}): Bleu1Score {
  return bleu1FromStats(bleu1Stats(hypothesis, references, opts));
}

export interface BleuItem {
  hypothesis: string;
  /** This item's references; items may have different numbers of them. */
  references: readonly string[];
}

/**
 * Corpus-level BLEU-1 (sacrebleu's corpus_score with max_ngram_order=1): statistics summed over the items, then
 * one score, so it is not the mean of the sentence scores. An empty corpus scores 0.
 */
export function corpusBleu1(items: Iterable<BleuItem>, opts: BleuOptions = {}): Bleu1Score {
  const sum: Bleu1Stats = { matches: 0, hypLen: 0, refLen: 0 };
  for (const item of items) {
    const s = bleu1Stats(item.hypothesis, item.references, opts);
    sum.matches += s.matches;
    sum.hypLen += s.hypLen;
    sum.refLen += s.refLen;
  }
  return bleu1FromStats(sum);
}
