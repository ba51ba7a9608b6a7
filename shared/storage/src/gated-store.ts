import type { ObjectInfo, ObjectStore, PutResult } from './object-store.js';

export type StoreOp = 'put' | 'putFile' | 'putIfAbsent' | 'get' | 'getRange' | 'getToFile' | 'getStream' | 'exists' | 'head' | 'list' | 'delete' | 'deleteIfUnmodifiedSince' | 'deletePrefix';

/** One pause: `reached` resolves when the actor arrives (before the operation runs); `release` lets it go on. */
export interface StorePause {
  reached: Promise<{ op: StoreOp; key: string }>;
  release(): void;
}

/**
 * An ObjectStore that can stop its user between any two storage operations, for interleaving tests:
 * pause actor A just before a chosen operation, run actor B to completion in the gap, then let A
 * go on. `fail` makes chosen operations throw instead (a transient error). Everything else is the
 * wrapped store's real behaviour.
 */
export class GatedObjectStore implements ObjectStore {
  readonly description: string;
  private pauses: Array<{ when: (op: StoreOp, key: string) => boolean; arrive: (x: { op: StoreOp; key: string }) => void; gate: Promise<void> }> = [];
  private failures: Array<{ when: (op: StoreOp, key: string) => boolean; error: () => Error; times: number }> = [];
  /** Every operation in order, `op key`: what the actor did, for assertions and failure messages. */
  readonly log: string[] = [];

  constructor(readonly inner: ObjectStore) {
    this.description = inner.description;
  }

  /** Pauses the first operation that matches `when` (once). */
  pauseAt(when: (op: StoreOp, key: string) => boolean): StorePause {
    let arrive!: (x: { op: StoreOp; key: string }) => void;
    let release!: () => void;
    const reached = new Promise<{ op: StoreOp; key: string }>((r) => { arrive = r; });
    const gate = new Promise<void>((r) => { release = r; });
    this.pauses.push({ when, arrive, gate });
    return { reached, release };
  }

  /** Makes the next `times` operations that match `when` throw `error()`. */
  failAt(when: (op: StoreOp, key: string) => boolean, error: () => Error, times = 1): void {
    this.failures.push({ when, error, times });
  }

  private async enter(op: StoreOp, key: string): Promise<void> {
    this.log.push(`${op} ${key}`);
    const f = this.failures.find((x) => x.times > 0 && x.when(op, key));
    if (f) {
      f.times--;
      throw f.error();
    }
    const i = this.pauses.findIndex((p) => p.when(op, key));
    if (i < 0) return;
    const [p] = this.pauses.splice(i, 1);
    p!.arrive({ op, key });
    await p!.gate;
  }

  async put(key: string, body: Uint8Array | string): Promise<PutResult> { await this.enter('put', key); return this.inner.put(key, body); }
  async putFile(key: string, path: string): Promise<PutResult> { await this.enter('putFile', key); return this.inner.putFile(key, path); }
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> { await this.enter('putIfAbsent', key); return this.inner.putIfAbsent(key, body); }
  async get(key: string): Promise<Buffer> { await this.enter('get', key); return this.inner.get(key); }
  async getRange(key: string, start: number, end: number): Promise<Buffer> { await this.enter('getRange', key); return this.inner.getRange(key, start, end); }
  async getToFile(key: string, path: string): Promise<void> { await this.enter('getToFile', key); return this.inner.getToFile(key, path); }
  async getStream(key: string): Promise<NodeJS.ReadableStream> { await this.enter('getStream', key); return this.inner.getStream(key); }
  async exists(key: string): Promise<boolean> { await this.enter('exists', key); return this.inner.exists(key); }
  async head(key: string): Promise<ObjectInfo | null> { await this.enter('head', key); return this.inner.head(key); }
  async list(prefix: string): Promise<string[]> { await this.enter('list', prefix); return this.inner.list(prefix); }
  async delete(key: string): Promise<void> { await this.enter('delete', key); return this.inner.delete(key); }
  async deleteIfUnmodifiedSince(key: string, sinceMs: number): Promise<boolean> { await this.enter('deleteIfUnmodifiedSince', key); return this.inner.deleteIfUnmodifiedSince(key, sinceMs); }
  async deletePrefix(prefix: string): Promise<number> { await this.enter('deletePrefix', prefix); return this.inner.deletePrefix(prefix); }
  localPath(key: string): string | undefined { return this.inner.localPath?.(key); }
  async close(): Promise<void> { await this.inner.close(); }
}
