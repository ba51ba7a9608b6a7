import { Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsRegistryOptions {
  /** Process metrics (CPU, memory, event-loop lag, GC) with the `rag_process_`/`rag_nodejs_` prefix. @defaultValue true */
  defaultMetrics?: boolean;
  /** Labels on every series of this process, e.g. { service: 'worker' }. */
  labels?: Record<string, string>;
}

/** One registry per process (not prom-client's global one, so tests and libraries never collide). */
export function createMetricsRegistry(opts: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'rag_' });
  return registry;
}

export type { Registry };
