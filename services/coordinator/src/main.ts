// Thin process: config → logger → Redis + storage → coordinator HTTP server → signals.
// Used by `./rag coordinator` (which adds an embedded Redis when REDIS_URL is unset) and the Docker image.
import '@rag/core/quiet-warnings';
import { loadConfig, type AppConfig } from '@rag/config';
import { ConfigError, createLogger, RagError, type Logger } from '@rag/core';
import { assertRedisReachable, createRedisConnection } from '@rag/queue';
import { createObjectStore } from '@rag/storage';
import { loadNightlyConfig } from '@rag/nightly';
import { startCoordinator, type Coordinator } from './coordinator-server.js';
import { startNightlyScheduler } from './nightly-scheduler.js';

export interface RunCoordinatorOptions {
  /** @defaultValue config.monitoring.coordinatorPort */
  port?: number;
  /** @defaultValue config.monitoring.host */
  host?: string;
  /** @defaultValue config.redis.url (required one way or the other) */
  redisUrl?: string;
  /** A nightly configuration with a `schedule`: the coordinator runs `nightly run` on its cron pattern. */
  nightlyConfig?: string;
}

/** Starts the coordinator; `close()` also releases the Redis connection and the store. */
export async function runCoordinator(config: AppConfig, logger: Logger, opts: RunCoordinatorOptions = {}): Promise<Coordinator & { nightly?: { alias: string; cron: string; tz?: string } }> {
  const url = opts.redisUrl ?? config.redis.url;
  if (!url) {
    throw new ConfigError('the coordinator needs REDIS_URL (the queues and alias notifications it watches)', {
      hint: 'set REDIS_URL=redis://host:6379, or run ./rag coordinator, which starts a private Redis when it is unset',
    });
  }
  await assertRedisReachable(url);
  const redis = createRedisConnection(url);
  redis.on('error', (err) => logger.warn({ event: 'redis.error', err: err.message }, 'redis connection error'));
  const store = createObjectStore(config.storage);
  try {
    // Checked before the server starts: a bad configuration fails the start-up in one line.
    const nightly = opts.nightlyConfig ? await loadNightlyConfig(opts.nightlyConfig) : undefined;
    if (nightly && !nightly.config.schedule) {
      throw new ConfigError(`${nightly.path} has no schedule`, { hint: 'add "schedule": {"cron": "0 3 * * *"} to run the night from the coordinator, or run ./rag nightly run from cron' });
    }
    const c = await startCoordinator({
      store,
      redis,
      prefix: config.redis.prefix,
      port: opts.port ?? config.monitoring.coordinatorPort,
      host: opts.host ?? config.monitoring.host,
      adminToken: config.monitoring.adminToken,
      logger,
    });
    const scheduler = nightly ? await startNightlyScheduler({
      connection: redis, prefix: config.redis.prefix, logger, alias: nightly.config.alias, configPath: nightly.path, schedule: nightly.config.schedule!,
    }) : undefined;
    return {
      ...c,
      ...(nightly ? { nightly: { alias: nightly.config.alias, cron: nightly.config.schedule!.cron, tz: nightly.config.schedule!.tz } } : {}),
      async close() {
        await scheduler?.close();
        await c.close();
        redis.disconnect();
        await store.close();
      },
    };
  } catch (err) {
    redis.disconnect();
    await store.close();
    throw err;
  }
}

export async function main(argv: { port?: number; host?: string; nightlyConfig?: string } = {}): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'coordinator', level: config.log.level });
  const c = await runCoordinator(config, logger, argv);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ event: 'coordinator.stopping', signal }, 'stopping');
    await c.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const get = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  main({ port: get('--port') ? Number(get('--port')) : undefined, host: get('--host'), nightlyConfig: get('--nightly') }).catch((err) => {
    process.stderr.write(`coordinator: ${RagError.from(err).oneLine()}\n`);
    process.exit(1);
  });
}
