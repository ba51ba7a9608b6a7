import type { GenerationConfig, OnnxConfig } from '@rag/config';
import { loadEncoder, type Encoder } from '@rag/encoder';
import { loadGenerator, type Generator } from '@rag/generator';
import type { QaModels } from './answer-questions.js';

export interface LazyQaModels {
  /** The question encoder and the generator (the RAG modes). */
  get(): Promise<QaModels>;
  /** The question encoder alone (retrieve-only): the generator is not loaded, so it need not even exist. */
  questionEncoder(): Promise<Encoder>;
  release(): Promise<void>;
}

/** One model loaded on first use and kept; a failed load is not cached, so the next job retries it. */
function lazy<T>(load: () => Promise<T>): { get(): Promise<T>; loaded(): Promise<T | undefined>; reset(): void } {
  let loading: Promise<T> | undefined;
  return {
    get() {
      if (!loading) {
        loading = load();
        loading.catch(() => { loading = undefined; });
      }
      return loading;
    },
    loaded: () => loading?.catch(() => undefined) ?? Promise.resolve(undefined),
    reset() { loading = undefined; },
  };
}

/** The question encoder and generator, loaded once per process on first use (never per job) and kept. */
export function lazyQaModels(gen: GenerationConfig, onnx: OnnxConfig): LazyQaModels {
  const ep = { executionProvider: onnx.executionProvider, intraOpThreads: onnx.intraOpThreads };
  const encoder = lazy(() => loadEncoder({ dir: gen.questionEncoderDir, ...ep }));
  const generator = lazy<Generator>(() => loadGenerator({ dir: gen.generatorDir, ...ep }));
  return {
    async get() {
      const [questionEncoder, g] = await Promise.all([encoder.get(), generator.get()]);
      return { questionEncoder, generator: g };
    },
    questionEncoder: () => encoder.get(),
    async release() {
      const [e, g] = await Promise.all([encoder.loaded(), generator.loaded()]);
      encoder.reset();
      generator.reset();
      await Promise.all([e?.release(), g?.release()]);
    },
  };
}
