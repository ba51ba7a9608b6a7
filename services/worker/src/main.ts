// Thin process: config → logger → workers → signals. Used by `./rag worker` and the Docker image.
import '@rag/core/quiet-warnings';
import { loadConfig } from '@rag/config';
import { createLogger, RagError } from '@rag/core';
import { parseRoles, startWorkerProcess } from './worker-process.js';

export async function main(argv: { roles?: string; concurrency?: number; metricsPort?: number } = {}): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'worker', level: config.log.level });
  const running = await startWorkerProcess(config, {
    roles: parseRoles(argv.roles ?? 'ingest,encode,index'),
    concurrency: argv.concurrency ?? 1,
    metricsPort: argv.metricsPort ?? config.monitoring.metricsPort,
  }, logger);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ event: 'worker.stopping', signal }, 'finishing active jobs, then exiting');
    await running.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const get = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  main({ roles: get('--roles'), concurrency: get('--concurrency') ? Number(get('--concurrency')) : undefined, metricsPort: get('--metrics-port') ? Number(get('--metrics-port')) : undefined }).catch((err) => {
    process.stderr.write(`worker: ${RagError.from(err).oneLine()}\n`);
    process.exit(1);
  });
}
