import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { freePort } from '@rag/queue';

/**
 * A redis-server on a fixed loopback port that a test can kill -9 and start again on the same port
 * (clients reconnect to the same URL), with or without its append-only file: the fault "Redis
 * restarted" and the fault "Redis restarted and lost everything".
 */
export interface RedisServer {
  url: string;
  port: number;
  /** kill -9: no shutdown save, clients see the connection drop. */
  kill(): Promise<void>;
  /** Starts again on the same port; `keepData: false` deletes the AOF first (all queue state lost). */
  restart(opts: { keepData: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisServer(opts: { dir: string; aof: boolean; port?: number }): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  mkdirSync(opts.dir, { recursive: true });
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', opts.dir,
      '--appendonly', opts.aof ? 'yes' : 'no', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
    ], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        // With an AOF, LOADING answers errors until the file is replayed.
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        /* not up yet */
      } finally {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); });
  };
  await launch();
  process.once('exit', () => child?.kill('SIGKILL'));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    async restart({ keepData }) {
      await kill();
      if (!keepData) {
        rmSync(opts.dir, { recursive: true, force: true });
        mkdirSync(opts.dir, { recursive: true });
      }
      await launch();
    },
    stop: kill,
  };
}
