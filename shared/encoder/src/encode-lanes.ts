import { Worker } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelLoadError, UsageError } from '@rag/core';
import type { ExecutionProvider } from './encoder-options.js';
import type { BatchFeeds, PoolSpec } from './batch-feeds.js';
import type { BatchRunner } from './batch-runner.js';

export interface LaneWorkerData {
  modelPath: string;
  executionProvider: ExecutionProvider;
  threads: number;
}
type WireError = { message: string; code?: string; hint?: string };
export type LaneRequest = { type: 'run'; id: number; batches: BatchFeeds[]; spec: PoolSpec } | { type: 'release' };
export type LaneReply =
  | { type: 'ready'; inputMetadata: readonly InferenceSession.ValueMetadata[]; outputNames: readonly string[]; outputMetadata: readonly InferenceSession.ValueMetadata[] }
  | { type: 'failed'; error: WireError }
  | { type: 'done'; id: number; vectors: Float32Array[] }
  | { type: 'error'; id: number; error: WireError };

// Same extension as this file: .ts under tsx, .js if compiled.
const WORKER_URL = new URL(`./encode-lane-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * Node 20 loads a worker's entry before the `--import tsx` hooks it inherits are ready, so a .ts entry
 * is started through a one-line bootstrap that registers tsx first.
 */
function startWorker(workerData: LaneWorkerData): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

function toError(e: WireError): Error {
  return new ModelLoadError(e.message, { hint: e.hint ?? 'check the model file; export it again if it is damaged', details: { code: e.code } });
}

interface Pending {
  resolve: (v: Float32Array[]) => void;
  reject: (e: Error) => void;
}

class Lane {
  busy = false;
  dead: Error | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(readonly worker: Worker) {
    // An idle lane does not keep the process alive (an Encoder nobody released must not hang exit).
    worker.unref();
    worker.on('message', (m: LaneReply) => {
      if (m.type !== 'done' && m.type !== 'error') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.type === 'done') p.resolve(m.vectors);
      else p.reject(toError(m.error));
    });
    const fail = (err: Error): void => {
      this.dead ??= err;
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new ModelLoadError(`an encoder lane thread failed: ${err.message}`, { cause: err, hint: 'load the encoder again' })));
    worker.on('exit', (code) => fail(new UsageError(`an encoder lane thread exited (code ${code})`, { hint: 'load the encoder again; was release() called while encoding?' })));
  }

  run(batches: BatchFeeds[], spec: PoolSpec): Promise<Float32Array[]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Float32Array[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      const transfer = batches.flatMap((f) => [f.ids.buffer, f.attention.buffer, f.mask.buffer, ...(f.tokenTypes ? [f.tokenTypes.buffer] : [])]) as ArrayBuffer[];
      this.worker.postMessage({ type: 'run', id, batches, spec } satisfies LaneRequest, transfer);
    });
  }
}

/**
 * Batches spread over `lanes` worker threads, each with its own session of `threads` intra-op threads
 * (1 by default). Lanes share no thread pool, so no lane waits at a barrier for another that the OS has
 * descheduled, and none spins: on a busy machine a slow lane only slows itself, where one session with
 * N intra-op threads stalls at every parallel section (hundreds per forward pass) until its slowest
 * thread gets a core. Costs a session (weights + arena) per lane.
 */
export class LaneRunner implements BatchRunner {
  private readonly waiting: Array<(lane: Lane) => void> = [];

  private constructor(
    private readonly lanes: Lane[],
    readonly inputMetadata: readonly InferenceSession.ValueMetadata[],
    readonly outputNames: readonly string[],
    readonly outputMetadata: readonly InferenceSession.ValueMetadata[],
  ) {}

  get width(): number {
    return this.lanes.length;
  }

  static async open(modelPath: string, ep: ExecutionProvider, lanes: number, threads = 1): Promise<LaneRunner> {
    const workerData: LaneWorkerData = { modelPath, executionProvider: ep, threads };
    const workers = Array.from({ length: lanes }, () => startWorker(workerData));
    const ready = workers.map(
      (w) =>
        new Promise<Extract<LaneReply, { type: 'ready' }>>((resolve, reject) => {
          const onMsg = (m: LaneReply): void => {
            if (m.type === 'ready') resolve(m);
            else if (m.type === 'failed') reject(new ModelLoadError(`ONNX Runtime could not load ${modelPath} (${ep}): ${m.error.message}`, { hint: 'the file may be truncated or from a newer opset; export the model again' }));
            else return;
            w.off('message', onMsg);
          };
          w.on('message', onMsg);
          w.once('error', reject);
          w.once('exit', (code) => reject(new ModelLoadError(`an encoder lane thread exited (code ${code}) while loading ${modelPath}`, { hint: 'see the error above' })));
        }),
    );
    let meta: Extract<LaneReply, { type: 'ready' }>;
    try {
      [meta] = (await Promise.all(ready)) as [Extract<LaneReply, { type: 'ready' }>];
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new LaneRunner(workers.map((w) => new Lane(w)), meta.inputMetadata, meta.outputNames, meta.outputMetadata);
  }

  private acquire(): Promise<Lane> {
    const idle = this.lanes.find((l) => !l.busy);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaseLane(lane: Lane): void {
    const next = this.waiting.shift();
    if (next) next(lane);
    else lane.busy = false;
  }

  async run(batches: BatchFeeds[], spec: PoolSpec): Promise<Float32Array[]> {
    const lane = await this.acquire();
    try {
      return await lane.run(batches, spec);
    } finally {
      this.releaseLane(lane);
    }
  }

  async release(): Promise<void> {
    await Promise.all(
      this.lanes.map(async (l) => {
        if (l.dead) return;
        const exited = new Promise<void>((resolve) => l.worker.once('exit', () => resolve()));
        l.worker.ref(); // awaited: keep the process alive until the session is freed
        l.worker.postMessage({ type: 'release' } satisfies LaneRequest);
        await exited;
      }),
    );
  }
}
