import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Question-answering latencies run from milliseconds (cache-warm retrieval) to a minute (long generation). */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface QaMetrics {
  /** rag_qa_questions_answered_total{snapshot} */
  questionsAnswered: Counter<'snapshot'>;
  /** rag_qa_questions_failed_total{code}: code is the RagError code. */
  questionsFailed: Counter<'code'>;
  /** rag_qa_question_duration_seconds{stage}: stage = total | retrieve | generate (or your own). */
  questionDuration: Histogram<'stage'>;
  /** rag_snapshot_switches_total{alias} */
  snapshotSwitches: Counter<'alias'>;
  /** rag_snapshot_switch_seconds{alias}: flip seen → new acquires get the new snapshot. */
  snapshotSwitchSeconds: Histogram<'alias'>;
  /** rag_snapshot_load_seconds{alias}: time in load() alone. */
  snapshotLoadSeconds: Histogram<'alias'>;
  /** rag_snapshot_load_failures_total{alias} */
  snapshotLoadFailures: Counter<'alias'>;
  /** rag_snapshot_serving{alias,snapshot}: 1 for the snapshot each followed alias serves now. */
  snapshotServing: Gauge<'alias' | 'snapshot'>;
  /** rag_snapshot_alias_version{alias}: the alias version a worker serves. */
  snapshotAliasVersion: Gauge<'alias'>;
}

/** Counters and histograms of a question-answering worker, registered in `registry`. */
export function createQaMetrics(registry: Registry): QaMetrics {
  const followed = new Set<LiveSnapshotLike>();
  const m: QaMetrics = {
    questionsAnswered: new Counter({ name: 'rag_qa_questions_answered_total', help: 'Questions answered', labelNames: ['snapshot'], registers: [registry] }),
    questionsFailed: new Counter({ name: 'rag_qa_questions_failed_total', help: 'Questions that failed, by error code', labelNames: ['code'], registers: [registry] }),
    questionDuration: new Histogram({ name: 'rag_qa_question_duration_seconds', help: 'Time per question, by stage', labelNames: ['stage'], buckets: SECONDS_BUCKETS, registers: [registry] }),
    snapshotSwitches: new Counter({ name: 'rag_snapshot_switches_total', help: 'Hot swaps to a new snapshot after an alias flip', labelNames: ['alias'], registers: [registry] }),
    snapshotSwitchSeconds: new Histogram({ name: 'rag_snapshot_switch_seconds', help: 'Alias flip seen until new jobs get the new snapshot', labelNames: ['alias'], buckets: SECONDS_BUCKETS, registers: [registry] }),
    snapshotLoadSeconds: new Histogram({ name: 'rag_snapshot_load_seconds', help: 'Time to load a snapshot for serving', labelNames: ['alias'], buckets: SECONDS_BUCKETS, registers: [registry] }),
    snapshotLoadFailures: new Counter({ name: 'rag_snapshot_load_failures_total', help: 'Snapshot loads that failed (the old snapshot kept serving)', labelNames: ['alias'], registers: [registry] }),
    snapshotServing: new Gauge({
      name: 'rag_snapshot_serving', help: 'Snapshot each followed alias serves now (value 1)', labelNames: ['alias', 'snapshot'], registers: [registry],
      // Read at scrape time, so it is never stale and old snapshots drop out by themselves.
      collect() {
        this.reset();
        for (const live of followed) if (live.snapshot) this.set({ alias: live.alias ?? live.snapshot, snapshot: live.snapshot }, 1);
      },
    }),
    snapshotAliasVersion: new Gauge({
      name: 'rag_snapshot_alias_version', help: 'Alias version served now', labelNames: ['alias'], registers: [registry],
      collect() {
        this.reset();
        for (const live of followed) if (live.alias && live.snapshot) this.set({ alias: live.alias }, live.version);
      },
    }),
  };
  trackers.set(m, followed);
  return m;
}

/** What the metrics need of a `LiveSnapshot` from @rag/registry (structural, so this package stays independent). */
export interface LiveSnapshotLike {
  readonly alias?: string;
  readonly snapshot: string | undefined;
  readonly version: number;
  on(event: 'switch', fn: (e: { alias: string; latencyMs: number; loadMs: number }) => void): unknown;
  on(event: 'load-failed', fn: (e: { alias: string }) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own listener type
  off(event: 'switch' | 'load-failed', fn: (...args: any[]) => void): unknown;
}

const trackers = new WeakMap<QaMetrics, Set<LiveSnapshotLike>>();

/** Feeds a follower's switches, load times and current snapshot into `metrics`; returns an untrack function. */
export function trackLiveSnapshot(live: LiveSnapshotLike, metrics: QaMetrics): () => void {
  const followed = trackers.get(metrics);
  if (!followed) throw new Error('trackLiveSnapshot: metrics were not made by createQaMetrics');
  followed.add(live);
  const onSwitch = (e: { alias: string; latencyMs: number; loadMs: number }) => {
    metrics.snapshotSwitches.inc({ alias: e.alias });
    metrics.snapshotSwitchSeconds.observe({ alias: e.alias }, e.latencyMs / 1000);
    metrics.snapshotLoadSeconds.observe({ alias: e.alias }, e.loadMs / 1000);
  };
  const onFailed = (e: { alias: string }) => metrics.snapshotLoadFailures.inc({ alias: e.alias });
  live.on('switch', onSwitch);
  live.on('load-failed', onFailed);
  return () => {
    followed.delete(live);
    live.off('switch', onSwitch);
    live.off('load-failed', onFailed);
  };
}

/** Times one stage of a question: `const done = timeStage(m, 'retrieve'); ...; done();` */
export function timeStage(metrics: QaMetrics, stage: string): () => number {
  return metrics.questionDuration.startTimer({ stage });
}
