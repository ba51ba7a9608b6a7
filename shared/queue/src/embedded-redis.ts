import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { RagError } from '@rag/core';
import { Redis } from 'ioredis';

export interface EmbeddedRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A free loopback TCP port (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts a private redis-server on an ephemeral loopback port, configured for BullMQ
 * (noeviction, no persistence). Used when REDIS_URL is unset, and by tests.
 */
export async function startEmbeddedRedis(opts: { bin?: string; dir: string; startTimeoutMs?: number }): Promise<EmbeddedRedis> {
  const bin = opts.bin ?? 'redis-server';
  mkdirSync(opts.dir, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(bin, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction', '--dir', opts.dir, '--protected-mode', 'yes',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const started = await waitForStart(child, port, bin, opts.startTimeoutMs ?? 10000);
    if (started === 'port-taken') continue;
    const url = `redis://127.0.0.1:${port}`;
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 3000).unref();
      });
    };
    process.once('exit', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
    return { url, port, stop };
  }
  throw new RagError('EMBEDDED_REDIS', 'could not start a private redis-server after 5 attempts (ports kept being taken)');
}

async function waitForStart(child: ChildProcess, port: number, bin: string, timeoutMs: number): Promise<'ok' | 'port-taken'> {
  let output = '';
  child.stdout?.on('data', (d) => { output += d; });
  child.stderr?.on('data', (d) => { output += d; });
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(new RagError('EMBEDDED_REDIS', `cannot start ${bin}: ${err.code === 'ENOENT' ? 'not installed' : err.message}`, {
        cause: err,
        hint: 'install it (Debian: apt-get install redis-server) or set REDIS_URL to an existing Redis',
      }));
    });
  });
  const deadline = Date.now() + timeoutMs;
  const poll = (async () => {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        if (/Address already in use/i.test(output)) return 'port-taken' as const;
        throw new RagError('EMBEDDED_REDIS', `redis-server exited with code ${child.exitCode}: ${output.trim().split('\n').slice(-2).join(' ')}`);
      }
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return 'ok' as const;
      } catch {
        /* not up yet */
      } finally {
        probe.disconnect();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new RagError('EMBEDDED_REDIS', `redis-server did not answer within ${timeoutMs} ms`);
  })();
  return Promise.race([poll, spawnError]);
}
