import type { GenerationConfig, OnnxConfig } from '@rag/config';
import { loadEncoder } from '@rag/encoder';
import { loadGenerator } from '@rag/generator';
import type { QaModels } from './answer-questions.js';

/**
 * The question encoder and generator, loaded once per process on first use (never per job) and
 * kept; a failed load is not cached, so the next job retries it.
 */
export function lazyQaModels(gen: GenerationConfig, onnx: OnnxConfig): { get(): Promise<QaModels>; release(): Promise<void> } {
  let loading: Promise<QaModels> | undefined;
  return {
    get() {
      if (!loading) {
        loading = (async () => {
          const [questionEncoder, generator] = await Promise.all([
            loadEncoder({ dir: gen.questionEncoderDir, executionProvider: onnx.executionProvider, intraOpThreads: onnx.intraOpThreads }),
            loadGenerator({ dir: gen.generatorDir, executionProvider: onnx.executionProvider, intraOpThreads: onnx.intraOpThreads }),
          ]);
          return { questionEncoder, generator };
        })();
        loading.catch(() => { loading = undefined; });
      }
      return loading;
    },
    async release() {
      const m = await loading?.catch(() => undefined);
      loading = undefined;
      if (m) await Promise.all([m.questionEncoder.release(), m.generator.release()]);
    },
  };
}
