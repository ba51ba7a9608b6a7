import { RagError, type RagErrorOptions } from './rag-error.js';

/** Bad configuration: fatal at start-up, lists every problem. */
export class ConfigError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('CONFIG_INVALID', message, { ...opts, retryable: false });
  }
}

/** The user asked for something invalid (bad id, bad flag combination). */
export class UsageError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('USAGE', message, { ...opts, retryable: false });
  }
}

/** Input data that cannot be read as what it claims to be (dump, TSV, JSONL). */
export class CorruptInputError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('CORRUPT_INPUT', message, { ...opts, retryable: false });
  }
}

/** A corpus that yields no passages at all. */
export class EmptyCorpusError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('EMPTY_CORPUS', message, { ...opts, retryable: false });
  }
}

/** Storage failed in a way another attempt may fix (network, 5xx, throttling). */
export class TransientStorageError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('STORAGE_TRANSIENT', message, { ...opts, retryable: true });
  }
}

/** Storage refused for good (no such bucket, access denied, object missing). */
export class StorageError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('STORAGE', message, { ...opts, retryable: false });
  }
}

/** An object's bytes do not match the sha256 or counts recorded for it. */
export class ShardIntegrityError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('SHARD_INTEGRITY', message, { ...opts, retryable: false });
  }
}

/** A snapshot was asked for that has no manifest (not built, or not finished). */
export class SnapshotNotReadyError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('SNAPSHOT_NOT_READY', message, { ...opts, retryable: false });
  }
}

/** Building over a snapshot id that is already published. */
export class SnapshotExistsError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('SNAPSHOT_EXISTS', message, { ...opts, retryable: false });
  }
}

/** A model directory that is missing files or does not load. */
export class ModelLoadError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('MODEL_LOAD', message, { ...opts, retryable: false });
  }
}

/** Redis could not be reached or refused the connection. */
export class QueueUnavailableError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('QUEUE_UNAVAILABLE', message, { ...opts, retryable: true });
  }
}

/** A build job failed; carries the stage and the reason from the child job. */
export class BuildFailedError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('BUILD_FAILED', message, { ...opts, retryable: false });
  }
}

/** A storage key that does not exist (local file or S3 object). Not retryable: the object is absent, not late. */
export class ObjectNotFoundError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('OBJECT_NOT_FOUND', message, { ...opts, retryable: false });
  }
}

/** A native addon (e.g. the FAISS binding) that is not built, or was built without what we need. */
export class NativeModuleError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('NATIVE_MODULE', message, { ...opts, retryable: false });
  }
}

/** A question-answering run could not finish (a chunk failed after its retries). Finished chunks are kept. */
export class QaRunFailedError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('QA_RUN_FAILED', message, { ...opts, retryable: false });
  }
}

/** Every local worker process of an embedded run has died; the queue would never drain. */
export class WorkersExitedError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('WORKERS_EXITED', message, { ...opts, retryable: false });
  }
}

/** Distributed mode: no worker listened on a run's queues for RAG_NO_WORKER_WAIT_S; its jobs stay queued. */
export class NoWorkersError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('NO_WORKERS', message, { ...opts, retryable: false });
  }
}

/** A job named a file or directory outside the roots this worker is configured to read (RAG_SOURCE_ROOTS, RAG_MODEL_ROOTS). */
export class PathNotAllowedError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('PATH_NOT_ALLOWED', message, { ...opts, retryable: false });
  }
}

/** Another build of the same snapshot id is running (other arguments, or another deployment's lease). */
export class BuildConflictError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('BUILD_CONFLICT', message, { ...opts, retryable: false });
  }
}

/** The storage server ignores If-None-Match, so create-if-absent (leases, alias versions, manifests) is not atomic there. */
export class ConditionalWritesUnsupportedError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('STORAGE_NO_CONDITIONAL_WRITES', message, { ...opts, retryable: false });
  }
}

/** A build's lease was taken over (it stalled past the TTL): its writes must stop, another process builds now. */
export class LeaseLostError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('LEASE_LOST', message, { ...opts, retryable: false });
  }
}

/** gc could not read every reference (a manifest, marker, reuse plan or lease): nothing was deleted. */
export class GcAbortedError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('GC_ABORTED', message, { ...opts, retryable: true });
  }
}

/** A snapshot is being removed (or is held by something that forbids removing it). */
export class SnapshotRetiringError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('SNAPSHOT_RETIRING', message, { ...opts, retryable: false });
  }
}
