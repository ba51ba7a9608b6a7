import { loadEncoder, type Encoder } from '@rag/encoder';
import type { OnnxConfig } from '@rag/config';

/**
 * One ONNX session per model directory per process, loaded on first use and kept:
 * loading per job would cost seconds and memory each time.
 */
export class EncoderPool {
  private readonly loaded = new Map<string, Promise<Encoder>>();
  constructor(private readonly onnx: OnnxConfig, private readonly batchSize: number) {}

  get(dir: string): Promise<Encoder> {
    const cached = this.loaded.get(dir);
    if (cached) return cached;
    {
      const p = loadEncoder({ dir, executionProvider: this.onnx.executionProvider, intraOpThreads: this.onnx.intraOpThreads, batchSize: this.batchSize });
      // A failed load is not cached: the next job may find the files fixed.
      p.catch(() => this.loaded.delete(dir));
      this.loaded.set(dir, p);
      return p;
    }
  }

  async releaseAll(): Promise<void> {
    for (const p of this.loaded.values()) await p.then((e) => e.release()).catch(() => {});
    this.loaded.clear();
  }
}
