import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from '@rag/core';
import type { QueueConfig } from '@rag/config';
import { withErrorBoundary } from './job-error-boundary.js';

export interface QueueWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  queue: QueueConfig;
  concurrency: number;
  logger: Logger;
}

/**
 * A BullMQ worker on one queue with the project's settings: typed-error boundary (bad input is
 * not retried), lock and stalled-job recovery from config, and logged failures — background
 * loops never throw into the void.
 */
export function createQueueWorker(name: string, process: (job: Job, token?: string) => Promise<unknown>, o: QueueWorkerOptions): Worker {
  const w = new Worker(name, (job, token) => withErrorBoundary(() => process(job, token)), {
    connection: o.connection,
    prefix: o.prefix,
    concurrency: o.concurrency,
    lockDuration: o.queue.lockMs,
    stalledInterval: o.queue.stalledMs,
    maxStalledCount: o.queue.maxStalled,
  });
  w.on('failed', (job, err) => o.logger.error({ event: 'job.failed', queue: name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'));
  w.on('error', (err) => o.logger.error({ event: 'worker.error', queue: name, err: err.message }, 'worker error'));
  w.on('stalled', (jobId) => o.logger.warn({ event: 'job.stalled', queue: name, jobId }, 'job stalled; it will be retried'));
  return w;
}
