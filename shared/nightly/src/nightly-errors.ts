import { RagError, type RagErrorOptions } from '@rag/core';

/** The quality gate held a candidate: the alias was not flipped. The CLI exits 3 (a scheduler can tell it from a failure). */
export class GateHeldError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('GATE_HELD', message, { ...opts, retryable: false });
  }
}

/** The alias moved while its candidate was being evaluated: the promotion did not overwrite that flip. */
export class PromotionConflictError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('PROMOTION_CONFLICT', message, { ...opts, retryable: false });
  }
}

/** Another run of the same nightly workflow holds its lock. */
export class NightRunningError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('NIGHT_RUNNING', message, { ...opts, retryable: true });
  }
}

/** Tonight's source could not be found (no object matches the pattern, nothing under the prefix). Retryable unless the caller says not (a bad --date). */
export class NightSourceError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('NIGHT_SOURCE', message, { ...opts, retryable: opts.retryable ?? true });
  }
}
