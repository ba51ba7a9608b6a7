import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@rag/core';

export const NIGHTLY_QUEUE = 'nightly';
const RAG = resolve(dirname(fileURLToPath(import.meta.url)), '../../../rag');

export interface NightJobData {
  config: string;
  alias: string;
}

export interface NightlySchedulerOptions {
  connection: Redis;
  prefix: string;
  logger: Logger;
  alias: string;
  /** The nightly configuration file every run is given. */
  configPath: string;
  /** A cron pattern (5 fields, or 6 with seconds) in `tz` (default UTC: nights are UTC days). */
  schedule: { cron: string; tz?: string };
  /**
   * Runs one night (the day the tick was scheduled for, UTC); resolves with its exit code. Default: the
   * same command a cron job or a systemd timer runs, `./rag nightly run --config FILE --date DAY`. `signal` is
   * aborted when the coordinator stops: the night stops too (it resumes at its step on the next tick).
   */
  runNight?: (night: string, data: NightJobData, job: Job, signal: AbortSignal) => Promise<number>;
}

export interface NightlyScheduler {
  queue: Queue;
  close(): Promise<void>;
}

/** The day a tick was scheduled for: stable across retries and across coordinators. */
export function nightOfJob(job: Job): string {
  return new Date(job.timestamp + (job.opts.delay ?? 0)).toISOString().slice(0, 10);
}

/**
 * The nightly workflow on a cron pattern with BullMQ's job scheduler: one scheduler id per alias, so any
 * number of coordinators produce one job per tick; the queue's global concurrency of 1 means a night still
 * running is never started twice (a tick that comes meanwhile waits, then finds its night done or runs it).
 * `nightly run` also takes a storage lock, which covers nights started by hand or by cron beside this.
 */
export async function startNightlyScheduler(o: NightlySchedulerOptions): Promise<NightlyScheduler> {
  const queue = new Queue<NightJobData>(NIGHTLY_QUEUE, { connection: o.connection, prefix: o.prefix });
  await queue.setGlobalConcurrency(1);
  await queue.upsertJobScheduler(`nightly:${o.alias}`, { pattern: o.schedule.cron, tz: o.schedule.tz ?? 'UTC' }, {
    name: 'night',
    data: { config: o.configPath, alias: o.alias },
    opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  });
  const run = o.runNight ?? spawnNight;
  // Stopping the coordinator must not wait for a night that may run for hours (BullMQ's close waits for active jobs).
  const stopping = new AbortController();
  const worker = new Worker<NightJobData>(NIGHTLY_QUEUE, async (job) => {
    const night = nightOfJob(job);
    o.logger.info({ event: 'nightly.start', alias: job.data.alias, night, jobId: job.id }, 'nightly run starting');
    const code = await run(night, job.data, job, stopping.signal);
    o.logger.info({ event: 'nightly.done', alias: job.data.alias, night, code }, code === 3 ? 'night held by the quality gate' : 'nightly run finished');
    // Held (3) is a decision, not a failure; anything else non-zero fails the job (visible on the dashboard).
    if (code !== 0 && code !== 3) throw new Error(`./rag nightly run --date ${night} exited ${code}`);
    return { night, code };
  }, { connection: o.connection, prefix: o.prefix, concurrency: 1, lockDuration: 60_000 });
  worker.on('error', (err) => o.logger.warn({ event: 'nightly.worker-error', err: err.message }, 'nightly scheduler worker error'));
  o.logger.info({ event: 'nightly.scheduled', alias: o.alias, cron: o.schedule.cron, tz: o.schedule.tz ?? 'UTC', config: o.configPath }, 'nightly workflow scheduled');
  return {
    queue,
    async close() {
      stopping.abort();
      await worker.close();
      await queue.close();
    },
  };
}

/** `./rag nightly run` as a child process, its output in the coordinator's stderr; SIGTERM when the coordinator stops. */
function spawnNight(night: string, data: NightJobData, _job: Job, signal: AbortSignal): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(RAG, ['nightly', 'run', '--config', data.config, '--date', night, '--no-progress'], { stdio: ['ignore', 'inherit', 'inherit'], signal, killSignal: 'SIGTERM' });
    child.on('error', (err) => { if (err.name !== 'AbortError') reject(err); });
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}
