/**
 * One encoder lane: a worker thread with its own single-session ONNX Runtime, running the batches
 * the Encoder posts (see encode-lanes.ts). ONNX Runtime's Node binding runs a session synchronously on
 * the calling thread, so side-by-side sessions need threads of their own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { RagError } from '@rag/core';
import { feedTensors, poolOutput } from './batch-feeds.js';
import { sessionOptions } from './session-pool.js';
import type { LaneReply, LaneRequest, LaneWorkerData } from './encode-lanes.js';

const port = parentPort!;
const { modelPath, executionProvider, threads } = workerData as LaneWorkerData;

function post(msg: LaneReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function describe(err: unknown): { message: string; code?: string; hint?: string } {
  if (err instanceof RagError) return { message: err.message, code: err.code, hint: err.hint };
  return { message: err instanceof Error ? err.message : String(err) };
}

let session: InferenceSession;
try {
  session = await InferenceSession.create(modelPath, sessionOptions(executionProvider, threads));
  post({ type: 'ready', inputMetadata: session.inputMetadata, outputNames: session.outputNames, outputMetadata: session.outputMetadata });
} catch (err) {
  post({ type: 'failed', error: describe(err) });
  process.exit(1);
}

// One message at a time: a release must not overtake a run still waiting for its turn.
let queue = Promise.resolve();
port.on('message', (msg: LaneRequest) => {
  queue = queue.then(async () => {
    if (msg.type === 'release') {
      await session.release();
      port.close();
      return;
    }
    try {
      const vectors: Float32Array[] = [];
      for (const feeds of msg.batches) {
        const result = await session.run(feedTensors(feeds), [msg.spec.outputName]);
        vectors.push(poolOutput(result[msg.spec.outputName] as Tensor, feeds, msg.spec));
      }
      post({ type: 'done', id: msg.id, vectors }, vectors.map((v) => v.buffer as ArrayBuffer));
    } catch (err) {
      post({ type: 'error', id: msg.id, error: describe(err) });
    }
  });
});
