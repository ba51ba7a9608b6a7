import { Counter, Gauge, type Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import type { AliasRegistry } from '@rag/registry';

/** Job states reported per queue. */
export const JOB_STATES = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children'] as const;

export interface CoordinatorMetricSources {
  aliases: AliasRegistry;
  /** Published snapshot ids (cached by the caller: listing storage is not free). */
  snapshotIds(): Promise<string[]>;
  queues(): Queue[];
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
  const aliasEvents = new Counter({ name: 'rag_alias_events_total', help: 'Alias flips heard over Redis pub/sub since the coordinator started', labelNames: ['alias'], registers: [registry] });
  return { aliasEvents };
}
