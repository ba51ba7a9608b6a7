import { Counter, Gauge, type Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import type { AliasRegistry } from '@rag/registry';
import type { NightRecord } from '@rag/nightly';

/** Job states reported per queue. */
export const JOB_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children'] as const;

export interface CoordinatorMetricSources {
  aliases: AliasRegistry;
  /** Published snapshot ids (cached by the caller: listing storage is not free). */
  snapshotIds(): Promise<string[]>;
  queues(): Queue[];
  /** The newest finished night of each alias that runs the nightly workflow (cached by the caller). */
  lastNights?(): Promise<NightRecord[]>;
}

/**
 * The coordinator's view of the deployment, computed at scrape time from storage (aliases,
 * snapshots) and Redis (queue depths), so it is never stale and holds no state of its own.
 */
export function registerCoordinatorMetrics(registry: Registry, src: CoordinatorMetricSources): { aliasEvents: Counter<'alias'> } {
  new Gauge({
    name: 'rag_alias_version', help: 'Current version of each alias (labels: the snapshot it points at)', labelNames: ['alias', 'snapshot'], registers: [registry],
    async collect() {
      const list = await src.aliases.list();
      this.reset();
      for (const a of list) this.set({ alias: a.name, snapshot: a.snapshot }, a.version);
    },
  });
  new Gauge({
    name: 'rag_snapshots_published', help: 'Published snapshots in storage', registers: [registry],
    async collect() {
      this.set((await src.snapshotIds()).length);
    },
  });
  new Gauge({
    name: 'rag_queue_jobs', help: 'BullMQ jobs per queue and state', labelNames: ['queue', 'state'], registers: [registry],
    async collect() {
      const rows = await Promise.all(src.queues().map(async (q) => [q.name, await q.getJobCounts(...JOB_STATES)] as const));
      this.reset();
      for (const [queue, counts] of rows) for (const state of JOB_STATES) this.set({ queue, state }, counts[state] ?? 0);
    },
  });
  if (src.lastNights) {
    const nights = src.lastNights;
    const perAlias = (name: string, help: string, value: (r: NightRecord) => number | undefined) => new Gauge({
      name, help, labelNames: ['alias'], registers: [registry],
      async collect() {
        const list = await nights();
        this.reset();
        for (const r of list) {
          const v = value(r);
          if (v !== undefined) this.set({ alias: r.alias }, v);
        }
      },
    });
    perAlias('rag_nightly_last_success_timestamp_seconds', 'When the newest finished night of the alias finished (promoted or held: the workflow ran)', (r) => (r.finishedAt ? Date.parse(r.finishedAt) / 1000 : undefined));
    perAlias('rag_nightly_gate_passed', 'Quality gate of the newest finished night: 1 promoted (or first night), 0 held', (r) => (r.decision === 'held' ? 0 : 1));
    perAlias('rag_nightly_passages_reencoded', 'Passages the newest finished night encoded', (r) => r.build?.reencoded);
    perAlias('rag_nightly_answers_changed', 'Canary questions whose answer (or top passage) the newest finished night changed', (r) => r.changes?.changed);
  }
  const aliasEvents = new Counter({ name: 'rag_alias_events_total', help: 'Alias flips heard over Redis pub/sub since the coordinator started', labelNames: ['alias'], registers: [registry] });
  return { aliasEvents };
}
