import { join } from 'node:path';
import { redactUrl } from '@rag/core';
import { startEmbeddedRedis, type EmbeddedRedis } from '@rag/queue';
import { runCoordinator } from '@rag/coordinator';
import { createRuntime } from '../runtime.js';
import { onInterrupt, setServerStop } from '../interrupt.js';

/**
 * `./rag coordinator`: the dashboard and metrics of a deployment. Without REDIS_URL it starts a
 * private redis-server and prints its URL, so that workers and CLIs can be pointed at it.
 */
export async function coordinator(o: { port?: number; host?: string; nightly?: string }): Promise<void> {
  const { config, logger, store } = createRuntime();
  await store.close();
  let embedded: EmbeddedRedis | undefined;
  let url = config.redis.url;
  if (!url) {
    embedded = await startEmbeddedRedis({ bin: config.redis.serverBin, dir: join(config.home, 'redis') });
    url = embedded.url;
  }
  let c;
  try {
    c = await runCoordinator(config, logger, { port: o.port, host: o.host, redisUrl: url, ...(o.nightly ? { nightlyConfig: o.nightly } : {}) });
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  const out = [
    `coordinator on ${c.url}`,
    `  dashboard  ${c.url}/queues (${c.readOnly ? 'read-only; set RAG_ADMIN_TOKEN to allow retry/clean/add' : 'changes need the RAG_ADMIN_TOKEN'})`,
    `  metrics    ${c.url}/metrics`,
    `  api        ${c.url}/api/aliases  ${c.url}/api/snapshots  ${c.url}/api/queues`,
    `  storage    ${c.aliases.store.description}`,
    ...(c.nightly ? [`  nightly    ${c.nightly.alias} on cron "${c.nightly.cron}"${c.nightly.tz ? ` (${c.nightly.tz})` : ' (UTC)'}: ./rag nightly run; ./rag nightly history --alias ${c.nightly.alias}`] : []),
    embedded ? `  redis      ${url} (private; point workers and CLIs at it with REDIS_URL=${url})` : `  redis      ${redactUrl(url)}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
  // Runs until interrupted; the interrupt handler closes the server, then the private Redis.
  setServerStop('the coordinator keeps no state of its own');
  onInterrupt(async () => {
    await c.close();
    await embedded?.stop();
  }, () => embedded?.kill());
  await new Promise<never>(() => {});
}
