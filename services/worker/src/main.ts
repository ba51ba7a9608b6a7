// Thin process: config → logger → workers → signals. Used by `./rag worker` and the Docker image.
import '@rag/core/quiet-warnings';
import { loadConfig } from '@rag/config';
import { createLogger, RagError } from '@rag/core';
import { parseRoles, startWorkerProcess } from './worker-process.js';

export interface WorkerMainHooks {
  /**
   * Who owns SIGINT/SIGTERM: `./rag worker` passes the CLI's interrupt registry; run directly
   * (embedded workers, Docker), this process installs its own handlers.
   */
  onStop?: (stop: () => Promise<void>) => void;
}

export async function main(argv: { roles?: string; concurrency?: number; metricsPort?: number } = {}, hooks: WorkerMainHooks = {}): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'worker', level: config.log.level });
  // Started by a CLI (an IPC channel to it): when that CLI is gone, even by kill -9, the channel
  // closes and this worker must not outlive it (its private Redis is gone or going too). Watched
  // from the start: a CLI killed while this process still loads must not leave it behind either.
  let onParentGone: () => void = () => process.exit(0);
  if (process.send) {
    if (!process.connected) process.exit(0);
    process.once('disconnect', () => onParentGone());
  }
  const running = await startWorkerProcess(config, {
    roles: parseRoles(argv.roles ?? 'ingest,encode,index'),
    concurrency: argv.concurrency ?? 1,
    metricsPort: argv.metricsPort ?? config.monitoring.metricsPort,
    sourceRoots: config.paths.sourceRoots,
    modelRoots: config.paths.modelRoots,
  }, logger);
  let closing: Promise<void> | undefined;
  /**
   * Active jobs get `graceMs` to finish, then the process exits anyway: every stage is idempotent and
   * resumable, so an abandoned job is simply taken over (its lock expires) or re-run. Waiting without
   * a bound is what made workers "ignore" SIGTERM when their Redis was already gone.
   */
  const stop = (reason: string, graceMs: number): Promise<void> => {
    closing ??= (async () => {
      logger.info({ event: 'worker.stopping', reason, graceMs }, 'finishing active jobs, then exiting');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), graceMs); });
      const closed = running.close().then(() => 'closed' as const, (err) => {
        logger.warn({ event: 'worker.close-failed', err: RagError.from(err).oneLine() }, 'close failed');
        return 'closed' as const;
      });
      if ((await Promise.race([closed, timedOut])) === 'timeout') {
        logger.warn({ event: 'worker.stop-forced', reason, graceMs }, 'active jobs did not finish in time; exiting (they will be retried)');
      }
      clearTimeout(timer);
    })();
    return closing;
  };
  if (hooks.onStop) {
    hooks.onStop(() => stop('signal', config.queue.shutdownMs));
  } else {
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) process.exit(1); // a second signal: no more waiting
      void stop(signal, config.queue.shutdownMs).then(() => process.exit(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  onParentGone = () => void stop('parent exited', Math.min(2000, config.queue.shutdownMs)).then(() => process.exit(0));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const get = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  main({ roles: get('--roles'), concurrency: get('--concurrency') ? Number(get('--concurrency')) : undefined, metricsPort: get('--metrics-port') ? Number(get('--metrics-port')) : undefined }).catch((err) => {
    process.stderr.write(`worker: ${RagError.from(err).oneLine()}\n`);
    process.exit(1);
  });
}
