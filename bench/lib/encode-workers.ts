/**
 * k forked processes (bench/lib/encode-worker.ts), one ONNX thread each, encoding an equal share of
 * the passages: the wall time from 'go' to the last 'done' (model loading excluded).
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerReply, WorkerRequest } from './encode-worker.js';
import type { BenchPassage } from './wiki-passages.js';

const workerPath = join(dirname(fileURLToPath(import.meta.url)), 'encode-worker.ts');

export async function timeEncodeWorkers(modelDir: string, k: number, passages: BenchPassage[], batchSize: number): Promise<{ workers: number; seconds: number; passagesPerSec: number }> {
  const children = Array.from({ length: k }, () => fork(workerPath, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  const waitFor = (c: (typeof children)[number], type: WorkerReply['type']): Promise<WorkerReply> =>
    new Promise((res, rej) => {
      const onMsg = (m: WorkerReply): void => {
        if (m.type === 'error') rej(new Error(`worker: ${m.message}`));
        else if (m.type === type) { c.off('message', onMsg); res(m); }
      };
      c.on('message', onMsg);
      c.once('exit', (code) => { if (code) rej(new Error(`worker exited ${code}`)); });
    });
  try {
    const share = Math.ceil(passages.length / k);
    const ready = children.map((c) => waitFor(c, 'ready'));
    children.forEach((c, i) => c.send({ type: 'init', dir: modelDir, threads: 1, batchSize, passages: passages.slice(i * share, (i + 1) * share) } satisfies WorkerRequest));
    await Promise.all(ready);
    const done = children.map((c) => waitFor(c, 'done'));
    const t0 = performance.now();
    children.forEach((c) => c.send({ type: 'go' } satisfies WorkerRequest));
    await Promise.all(done);
    const seconds = (performance.now() - t0) / 1000;
    return { workers: k, seconds: Math.round(seconds * 100) / 100, passagesPerSec: Math.round((passages.length / seconds) * 10) / 10 };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
  }
}
