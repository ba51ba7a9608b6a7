/**
 * Child process for the multi-process throughput benchmark: loads our Encoder, reports ready,
 * encodes its share of passages on 'go', reports the time. Started by bench/lib/encode-workers.ts via fork().
 */
import { loadEncoder } from '@rag/encoder';
import type { BenchPassage } from './wiki-passages.js';

export type WorkerRequest =
  | { type: 'init'; dir: string; threads: number; batchSize: number; passages: BenchPassage[] }
  | { type: 'go' };
export type WorkerReply = { type: 'ready'; dim: number } | { type: 'done'; ms: number; count: number } | { type: 'error'; message: string };

function send(msg: WorkerReply): void {
  process.send?.(msg);
}

let passages: BenchPassage[] = [];
let encoder: Awaited<ReturnType<typeof loadEncoder>> | undefined;

process.on('message', (msg: WorkerRequest) => {
  void (async () => {
    try {
      if (msg.type === 'init') {
        passages = msg.passages;
        encoder = await loadEncoder({ dir: msg.dir, intraOpThreads: msg.threads, batchSize: msg.batchSize });
        await encoder.encodePassages(passages.slice(0, msg.batchSize)); // warm-up
        send({ type: 'ready', dim: encoder.dim });
      } else if (msg.type === 'go') {
        const t0 = performance.now();
        await encoder!.encodePassages(passages);
        send({ type: 'done', ms: performance.now() - t0, count: passages.length });
        await encoder!.release();
        process.disconnect?.();
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
      process.exitCode = 1;
      process.disconnect?.();
    }
  })();
});
