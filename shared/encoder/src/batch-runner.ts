import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { ExecutionProvider } from './encoder-options.js';
import { feedTensors, poolOutput, type BatchFeeds, type PoolSpec } from './batch-feeds.js';
import { acquireSession, releaseSession } from './session-pool.js';

/** What an Encoder needs to know of its graph before it runs it. */
export interface GraphMetadata {
  inputMetadata: readonly InferenceSession.ValueMetadata[];
  outputNames: readonly string[];
  outputMetadata: readonly InferenceSession.ValueMetadata[];
}

/** Runs padded batches through the model and pools them: [rows, dim] vectors per batch, in order. */
export interface BatchRunner extends GraphMetadata {
  /** Batches it runs at once; an Encoder keeps this many in flight. */
  readonly width: number;
  run(batches: BatchFeeds[], spec: PoolSpec): Promise<Float32Array[]>;
  release(): Promise<void>;
}

/** Batches run one at a time on this thread, through the process-wide shared session (session-pool.ts). */
export class SessionRunner implements BatchRunner {
  readonly width = 1;
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputNames: readonly string[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];

  private constructor(
    readonly session: InferenceSession,
    private readonly key: string,
  ) {
    this.inputMetadata = session.inputMetadata;
    this.outputNames = session.outputNames;
    this.outputMetadata = session.outputMetadata;
  }

  static async open(modelPath: string, ep: ExecutionProvider, threads: number): Promise<SessionRunner> {
    const { key, session } = await acquireSession(modelPath, ep, threads);
    return new SessionRunner(session, key);
  }

  async run(batches: BatchFeeds[], spec: PoolSpec): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const feeds of batches) {
      const result = await this.session.run(feedTensors(feeds), [spec.outputName]);
      out.push(poolOutput(result[spec.outputName] as Tensor, feeds, spec));
    }
    return out;
  }

  async release(): Promise<void> {
    await releaseSession(this.key);
  }
}
