import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { RagError } from '@rag/core';
import { Redis } from 'ioredis';

export interface EmbeddedRedis {
  url: string;
  port: number;
  /** pid of redis-server's watchdog (the process group leader); for tests that check nothing is left behind. */
  pid: number;
  stop(): Promise<void>;
  /** SIGKILL, now (redis-server and its watchdog). */
  kill(): void;
  /** Settles with the exit code when redis-server has exited, for whatever reason (stop() included). */
  exited: Promise<number | null>;
}

/**
 * Runs redis-server under a bash watchdog whose stdin is a pipe from this process: when this
 * process dies, even by kill -9, the pipe closes, `read` sees EOF within a second and the watchdog
 * stops redis-server. A private Redis never outlives the command that started it. The watchdog
 * exits with redis-server's status, so start-up failures read as before.
 */
const WATCHDOG = `"$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT HUP
while kill -0 "$pid" 2>/dev/null; do
  read -r -t 1 _
  rc=$?
  if [ "$rc" -gt 0 ] && [ "$rc" -le 128 ]; then kill -TERM "$pid" 2>/dev/null; break; fi
done
wait "$pid"
code=$?
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
exit "$code"`;

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
export async function startEmbeddedRedis(opts: {
  bin?: string;
  dir: string;
  startTimeoutMs?: number;
  /** Require this password (set after start-up, so it never appears on a command line); the url carries it. */
  password?: string;
}): Promise<EmbeddedRedis> {
  const bin = opts.bin ?? 'redis-server';
  mkdirSync(opts.dir, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    // Its own process group: a terminal's Ctrl-C goes to the CLI, which stops Redis last, after its
    // workers (Redis dying first made every worker and the CLI print ECONNREFUSED).
    const child = spawn('bash', ['-c', WATCHDOG, 'redis-watchdog', bin,
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction', '--dir', opts.dir, '--protected-mode', 'yes',
    ], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    child.stdin!.on('error', () => {});
    const kill = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const started = await waitForStart(child, port, bin, opts.startTimeoutMs ?? 10000).catch((err) => {
      kill();
      throw err;
    });
    if (started === 'port-taken') continue;
    if (opts.password !== undefined) {
      const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      admin.on('error', () => {});
      try {
        await admin.connect();
        await admin.config('SET', 'requirepass', opts.password);
      } catch (err) {
        kill();
        throw err;
      } finally {
        admin.disconnect();
      }
    }
    const url = opts.password !== undefined ? `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
    const exited = new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });
    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.stdin!.end();
      child.kill('SIGTERM');
      setTimeout(() => { kill(); resolve(); }, 3000).unref();
    }));
    process.once('exit', kill);
    return { url, port, pid: child.pid!, stop, kill, exited };
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
        if (child.exitCode === 127) {
          throw new RagError('EMBEDDED_REDIS', `cannot start ${bin}: not installed`, {
            hint: 'install it (Debian: apt-get install redis-server) or set REDIS_URL to an existing Redis',
          });
        }
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
    throw new RagError('EMBEDDED_REDIS', `redis-server did not answer within ${timeoutMs} ms`);
  })();
  return Promise.race([poll, spawnError]);
}
