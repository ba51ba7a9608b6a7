/**
 * k forked processes (bench/lib/encode-worker.ts), one ONNX thread each, pulling chunks of the
 * passages from a shared queue (as workers take a shard's encode part jobs, so a worker slowed by
 * other load does not hold back the end): the wall time from the first chunk to the last (model
 * loading excluded), and the CPU time the workers spent.
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerReply, WorkerRequest } from './encode-worker.js';
import type { BenchPassage } from './wiki-passages.js';

const workerPath = join(dirname(fileURLToPath(import.meta.url)), 'encode-worker.ts');

export interface WorkersResult {
  workers: number;
  seconds: number;
  passagesPerSec: number;
  /** Passages per CPU-second of the workers: flat when k workers scale perfectly, whatever else runs. */
  passagesPerCpuSec: number;
  /** Passages each worker encoded. */
  shares: number[];
}

export async function timeEncodeWorkers(modelDir: string, k: number, passages: BenchPassage[], batchSize: number, chunk = 32): Promise<WorkersResult> {
  const children = Array.from({ length: k }, () => fork(workerPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  const failures: Promise<never>[] = children.map(
    (c) =>
      new Promise<never>((_, rej) => {
        c.on('message', (m: WorkerReply) => { if (m.type === 'error') rej(new Error(`worker: ${m.message}`)); });
        c.once('exit', (code) => { if (code) rej(new Error(`worker exited ${code}`)); });
      }),
  );
  failures.forEach((f) => f.catch(() => {}));
  const next = (c: (typeof children)[number], type: WorkerReply['type']): Promise<WorkerReply> =>
    Promise.race([
      new Promise<WorkerReply>((res) => {
        const onMsg = (m: WorkerReply): void => {
          if (m.type === type) { c.off('message', onMsg); res(m); }
        };
        c.on('message', onMsg);
      }),
      ...failures,
    ]);
  try {
    const ready = children.map((c) => next(c, 'ready'));
    children.forEach((c) => c.send({ type: 'init', dir: modelDir, threads: 1, batchSize, passages } satisfies WorkerRequest));
    await Promise.all(ready);
    let from = 0;
    const t0 = performance.now();
    await Promise.all(
      children.map(async (c) => {
        while (from < passages.length) {
          const to = Math.min(from + chunk, passages.length);
          const done = next(c, 'chunk-done');
          c.send({ type: 'chunk', from, to } satisfies WorkerRequest);
          from = to;
          await done;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const stopped = children.map((c) => next(c, 'stopped'));
    children.forEach((c) => c.send({ type: 'stop' } satisfies WorkerRequest));
    const reports = (await Promise.all(stopped)) as Extract<WorkerReply, { type: 'stopped' }>[];
    const cpuSec = reports.reduce((s, r) => s + r.cpuMs, 0) / 1000;
    const r2 = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
    return {
      workers: k,
      seconds: r2(seconds, 2),
      passagesPerSec: r2(passages.length / seconds, 1),
      passagesPerCpuSec: r2(passages.length / cpuSec, 1),
      shares: reports.map((r) => r.count),
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
  }
}
