import { RagError, type RagErrorOptions } from '@rag/core';

/** An alias name that has never been set. */
export class AliasNotFoundError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('ALIAS_NOT_FOUND', message, { ...opts, retryable: false });
  }
}

/** A snapshot reference that is neither an alias nor a published snapshot. */
export class UnknownSnapshotRefError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('UNKNOWN_SNAPSHOT_REF', message, { ...opts, retryable: false });
  }
}

/** A flip with `expectVersion` found the alias at another version (someone else flipped it first). */
export class AliasConflictError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('ALIAS_CONFLICT', message, { ...opts, retryable: false });
  }
}

/** `snapshot rm` of a snapshot that an alias points at: workers may be serving it. */
export class SnapshotInUseError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('SNAPSHOT_IN_USE', message, { ...opts, retryable: false });
  }
}
