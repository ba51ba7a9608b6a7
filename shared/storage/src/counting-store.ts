import type { ObjectInfo, ObjectStore, PutResult } from './object-store.js';

/** Requests made through a CountingObjectStore, by operation. */
export type RequestCounts = Record<'get' | 'getRange' | 'getToFile' | 'getStream' | 'head' | 'exists' | 'list' | 'put' | 'delete', number>;

/**
 * An ObjectStore that counts the requests made through it: how bench:retrieval and the tests show
 * that a warm serving process asks the object store for nothing per question.
 */
export class CountingObjectStore implements ObjectStore {
  readonly counts: RequestCounts = { get: 0, getRange: 0, getToFile: 0, getStream: 0, head: 0, exists: 0, list: 0, put: 0, delete: 0 };

  constructor(private readonly inner: ObjectStore) {}

  get description(): string {
    return this.inner.description;
  }

  /** Every request so far. */
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  /** Object reads so far (what a question could cost). */
  get reads(): number {
    return this.counts.get + this.counts.getRange + this.counts.getToFile + this.counts.getStream;
  }

  localPath(key: string): string | undefined {
    return this.inner.localPath?.(key);
  }

  put(key: string, body: Uint8Array | string): Promise<PutResult> {
    this.counts.put++;
    return this.inner.put(key, body);
  }

  putFile(key: string, path: string): Promise<PutResult> {
    this.counts.put++;
    return this.inner.putFile(key, path);
  }

  putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    this.counts.put++;
    return this.inner.putIfAbsent(key, body);
  }

  get(key: string): Promise<Buffer> {
    this.counts.get++;
    return this.inner.get(key);
  }

  getRange(key: string, start: number, end: number): Promise<Buffer> {
    this.counts.getRange++;
    return this.inner.getRange(key, start, end);
  }

  getToFile(key: string, path: string): Promise<void> {
    this.counts.getToFile++;
    return this.inner.getToFile(key, path);
  }

  getStream(key: string): Promise<NodeJS.ReadableStream> {
    this.counts.getStream++;
    return this.inner.getStream(key);
  }

  exists(key: string): Promise<boolean> {
    this.counts.exists++;
    return this.inner.exists(key);
  }

  head(key: string): Promise<ObjectInfo | null> {
    this.counts.head++;
    return this.inner.head(key);
  }

  list(prefix: string): Promise<string[]> {
    this.counts.list++;
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    this.counts.delete++;
    return this.inner.delete(key);
  }

  deleteIfUnmodifiedSince(key: string, sinceMs: number): Promise<boolean> {
    this.counts.delete++;
    return this.inner.deleteIfUnmodifiedSince(key, sinceMs);
  }

  deletePrefix(prefix: string): Promise<number> {
    this.counts.delete++;
    return this.inner.deletePrefix(prefix);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
