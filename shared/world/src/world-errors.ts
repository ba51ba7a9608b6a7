import { RagError, type RagErrorOptions } from '@rag/core';

/** Writing a world's files failed (bzip2 missing or failing, disk full, unwritable folder). */
export class WorldWriteError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('WORLD_WRITE', message, { ...opts, retryable: false });
  }
}
