/**
 * Child process for the multi-process throughput benchmark: loads our Encoder, reports ready, then
 * encodes the chunks of passages the parent hands out one at a time (as workers take encode part
 * jobs from the queue) until told to stop, and reports its CPU time. Started by bench/lib/encode-workers.ts.
 */
import { loadEncoder } from '@rag/encoder';
import type { BenchPassage } from './wiki-passages.js';

export type WorkerRequest =
  | { type: 'init'; dir: string; threads: number; batchSize: number; passages: BenchPassage[] }
  | { type: 'chunk'; from: number; to: number }
  | { type: 'stop' };
export type WorkerReply =
  | { type: 'ready'; dim: number }
  | { type: 'chunk-done'; count: number }
  | { type: 'stopped'; cpuMs: number; count: number }
  | { type: 'error'; message: string };

function send(msg: WorkerReply): void {
  process.send?.(msg);
}

let passages: BenchPassage[] = [];
let encoder: Awaited<ReturnType<typeof loadEncoder>> | undefined;
let cpu0: NodeJS.CpuUsage | undefined;
let count = 0;

process.on('message', (msg: WorkerRequest) => {
  void (async () => {
    try {
      if (msg.type === 'init') {
        passages = msg.passages;
        encoder = await loadEncoder({ dir: msg.dir, intraOpThreads: msg.threads, batchSize: msg.batchSize });
        await encoder.encodePassages(passages.slice(0, msg.batchSize)); // warm-up
        send({ type: 'ready', dim: encoder.dim });
      } else if (msg.type === 'chunk') {
        cpu0 ??= process.cpuUsage();
        await encoder!.encodePassages(passages.slice(msg.from, msg.to));
        count += msg.to - msg.from;
        send({ type: 'chunk-done', count: msg.to - msg.from });
      } else {
        const cpu = process.cpuUsage(cpu0);
        send({ type: 'stopped', cpuMs: (cpu.user + cpu.system) / 1000, count });
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
