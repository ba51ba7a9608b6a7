import { mcnemarExact, pairedBootstrap } from './paired-tests.js';

/** What the gate reads of a QA record (both arms answer the same question ids). */
export interface GateInput {
  id: string;
  k: number;
  gold_rank?: number | null;
  em?: 0 | 1;
  f1?: number;
  error?: string;
}

export interface GateOptions {
  /** Largest allowed drop per metric, in percentage points: `hits@20` (K up to the run's k), `em`, `f1`. */
  maxDrop: Record<string, number>;
  /** Significance level of the paired tests: a drop beyond its limit holds only if p < alpha. */
  alpha: number;
  /** Fewer paired questions than this with a score: hold (the gate cannot tell). */
  minQuestions: number;
}

export interface GateMetric {
  metric: string;
  /** Paired questions scored on both arms. */
  n: number;
  /** Means in [0, 1]. */
  a: number;
  b: number;
  /** (b - a) in percentage points. */
  deltaPts: number;
  p: number;
  test: 'mcnemar' | 'bootstrap';
  /** McNemar's discordant counts: A right/B wrong, A wrong/B right. */
  discordant?: { aOnly: number; bOnly: number };
  maxDrop: number;
  failed: boolean;
  /** One line: "hits@20 81.0 -> 80.5 (-0.5 pts, limit -1.0, p=0.62): ok". */
  line: string;
}

export interface GateResult {
  v: 1;
  passed: boolean;
  alpha: number;
  minQuestions: number;
  metrics: GateMetric[];
  /** Why it held, one line each (empty when passed). */
  reasons: string[];
  /** The decision in one line, for logs, the alias history and the report's first screen. */
  summary: string;
}

const METRIC_RE = /^(hits@[1-9][0-9]*|em|f1)$/;

export function assertGateMetric(metric: string): void {
  if (!METRIC_RE.test(metric)) throw new Error(`unknown gate metric ${metric}: use hits@K, em or f1`);
}

/** One question's value of a metric, or undefined when it has none (no gold, no retrieval). */
function valueOf(r: GateInput, metric: string): number | undefined {
  if (metric.startsWith('hits@')) {
    const K = Number(metric.slice(5));
    if (r.gold_rank === undefined) return undefined;
    return r.gold_rank !== null && r.gold_rank <= K ? 1 : 0;
  }
  const v = metric === 'em' ? r.em : r.f1;
  if (v === undefined) return r.error !== undefined && r.gold_rank !== undefined ? 0 : undefined; // a failed answer to a scorable question counts as wrong
  return v;
}

const fmtP = (p: number) => (p < 0.001 ? 'p<0.001' : `p=${p.toFixed(3)}`);
const pts = (x: number) => (x * 100).toFixed(1);

/**
 * The quality gate: the candidate (B) against what the alias serves (A), question by question. A metric
 * holds the night when it dropped by more than its limit AND the drop is significant at `alpha` (paired:
 * McNemar for 0/1 metrics, bootstrap for F1), so noise in a small canary set neither blocks a good night
 * nor passes a real regression unseen; too few scored questions hold it outright.
 */
export function evaluateGate(a: readonly GateInput[], b: readonly GateInput[], o: GateOptions): GateResult {
  const byId = new Map(b.map((r) => [r.id, r]));
  const metrics: GateMetric[] = [];
  const reasons: string[] = [];
  for (const [metric, maxDrop] of Object.entries(o.maxDrop)) {
    assertGateMetric(metric);
    if (metric.startsWith('hits@')) {
      const K = Number(metric.slice(5));
      const k = Math.min(...a.map((r) => r.k), ...b.map((r) => r.k));
      if (Number.isFinite(k) && K > k) throw new Error(`gate metric ${metric} needs at least ${K} retrieved passages; the runs retrieved ${k}`);
    }
    const va: number[] = [];
    const vb: number[] = [];
    for (const ra of a) {
      const rb = byId.get(ra.id);
      if (!rb) continue;
      const x = valueOf(ra, metric);
      const y = valueOf(rb, metric);
      if (x === undefined || y === undefined) continue;
      va.push(x);
      vb.push(y);
    }
    const n = va.length;
    const meanA = n ? va.reduce((s, x) => s + x, 0) / n : 0;
    const meanB = n ? vb.reduce((s, x) => s + x, 0) / n : 0;
    const deltaPts = (meanB - meanA) * 100;
    let p: number;
    let test: GateMetric['test'];
    let discordant: GateMetric['discordant'];
    if (metric === 'f1') {
      test = 'bootstrap';
      p = pairedBootstrap(va, vb).p;
    } else {
      test = 'mcnemar';
      let aOnly = 0;
      let bOnly = 0;
      for (let i = 0; i < n; i++) {
        if (va[i] === 1 && vb[i] === 0) aOnly++;
        else if (va[i] === 0 && vb[i] === 1) bOnly++;
      }
      discordant = { aOnly, bOnly };
      p = mcnemarExact(aOnly, bOnly);
    }
    const tooFew = n < o.minQuestions;
    const dropped = -deltaPts > maxDrop + 1e-9; // float noise: 284/300 vs 287/300 is exactly 1 point
    const significant = p < o.alpha;
    const failed = tooFew || (dropped && significant);
    const verdict = tooFew ? `held: only ${n} scored question(s), the gate needs ${o.minQuestions}`
      : failed ? `held: dropped more than ${maxDrop} pts, significant at ${o.alpha}`
        : dropped ? `ok: beyond the limit but not significant at ${o.alpha} (noise)` : 'ok';
    const line = `${metric} ${pts(meanA)} -> ${pts(meanB)} (${deltaPts >= 0 ? '+' : ''}${deltaPts.toFixed(1)} pts, limit -${maxDrop}, ${fmtP(p)}, n=${n}): ${verdict}`;
    if (failed) reasons.push(line);
    metrics.push({ metric, n, a: meanA, b: meanB, deltaPts, p, test, ...(discordant ? { discordant } : {}), maxDrop, failed, line });
  }
  if (metrics.length === 0) reasons.push('the gate has no metric to check (gate.maxDrop is empty)');
  const passed = reasons.length === 0;
  const summary = passed
    ? `pass: ${metrics.map((m) => `${m.metric} ${pts(m.a)} -> ${pts(m.b)} (${m.deltaPts >= 0 ? '+' : ''}${m.deltaPts.toFixed(1)} pts, ${fmtP(m.p)})`).join('; ')}`
    : `hold: ${reasons.join('; ')}`;
  return { v: 1, passed, alpha: o.alpha, minQuestions: o.minQuestions, metrics, reasons, summary };
}
