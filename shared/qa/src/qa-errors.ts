import { RagError, type RagErrorOptions } from '@rag/core';

/** A generation worker was handed a chunk queued for other models (a different generator or question encoder). */
export class ModelMismatchError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('MODEL_MISMATCH', message, { ...opts, retryable: false });
  }
}
