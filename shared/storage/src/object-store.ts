/** What a successful write reports: the bytes stored and their digest, for manifests. */
export interface PutResult {
  key: string;
  size: number;
  /** Hex sha256 of the stored bytes. */
  sha256: string;
}

/** What `head` reports: the object's size and when it was last written (epoch ms). */
export interface ObjectInfo {
  size: number;
  modifiedMs: number;
}

/**
 * One interface over a local directory and an S3 bucket/prefix.
 *
 * Keys are '/'-separated relative paths (see object-key.ts). A missing key raises
 * ObjectNotFoundError; `delete` of a missing key is a no-op on both backends (S3 semantics).
 */
export interface ObjectStore {
  /** Where the objects live, e.g. "file:///abs/dir" or "s3://bucket/prefix"; never contains credentials. */
  readonly description: string;
  put(key: string, body: Uint8Array | string): Promise<PutResult>;
  /** Streams a local file in; S3 uses multipart upload above the configured part size. */
  putFile(key: string, path: string): Promise<PutResult>;
  /** Writes only if the key does not exist yet; false if it already did (immutable manifests). */
  putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean>;
  get(key: string): Promise<Buffer>;
  /** Bytes [start, end) of an object (a range read: serving reads single passages, not whole shards). */
  getRange(key: string, start: number, end: number): Promise<Buffer>;
  /** Downloads to `path` via a temporary file, so `path` is either complete or untouched. */
  getToFile(key: string, path: string): Promise<void>;
  getStream(key: string): Promise<NodeJS.ReadableStream>;
  exists(key: string): Promise<boolean>;
  /** Size and last-write time of an object, or null if it does not exist (gc's grace period reads it). */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every key that starts with `prefix` (plain string prefix, '' = all), sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /**
   * Deletes `key` only if it was not written after `sinceMs` (gc: an object a build rewrote to reuse
   * it stays). Returns whether it was deleted. Local: atomic (the file is renamed away, then judged,
   * and put back if it was rewritten). S3: a HEAD then a DELETE, one round trip apart (S3 has no
   * delete-if-unmodified on its plain API; docs/reliability.md says what that leaves).
   */
  deleteIfUnmodifiedSince(key: string, sinceMs: number): Promise<boolean>;
  /** Deletes every key under a non-empty prefix; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * The local file holding an object, for stores on this machine's disk (read ranges of it directly);
   * absent or undefined for remote stores.
   */
  localPath?(key: string): string | undefined;
  /** Releases sockets/handles; the store must not be used afterwards. */
  close(): Promise<void>;
}
