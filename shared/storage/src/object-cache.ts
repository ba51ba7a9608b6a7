import { createHash, randomUUID } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { ShardIntegrityError, type Logger } from '@rag/core';
import type { ObjectStore } from './object-store.js';

/** An immutable object a manifest names: its key and the sha256 every copy must have. */
export interface ObjectRef {
  key: string;
  sha256: string;
  bytes?: number;
}

/** Byte ranges of one immutable object. */
export interface ObjectRanges {
  read(start: number, end: number): Promise<Buffer>;
  /** Present when the bytes are in a local file ready to read: a blocking pread, no promise per row. */
  readSync?(start: number, end: number): Buffer;
  /** Like readSync, into `target` (its whole length, from `start`); returns the bytes read. */
  readIntoSync?(start: number, target: Uint8Array): number;
}

export interface ObjectCacheOptions {
  /** Where copies live: one file per object, named by its sha256. */
  dir: string;
  /** Copies are evicted, least recently used first, to keep the directory under this size. */
  maxBytes: number;
  logger?: Logger;
}

/** What the cache did in this process: the figures bench:retrieval reports. */
export interface ObjectCacheStats {
  /** Objects copied from the store (one GET each). */
  fills: number;
  /** Objects found on disk and verified (no request). */
  hits: number;
  /** Copies dropped to stay under maxBytes. */
  evictions: number;
  /** Copies that did not match their sha256 when first opened: deleted and fetched again, never served. */
  corrupt: number;
  /** Bytes of the copies on disk. */
  bytes: number;
}

/**
 * Default cache size (RAG_CACHE_GB): a snapshot's re-rank vectors are 1 KB a passage at 256-d, so
 * 2M passages need 2 GB and 21M need 21 GB next to their passages (about 0.7 KB each).
 */
export const DEFAULT_OBJECT_CACHE_BYTES = 64 * 2 ** 30;

/** Open file handles kept per process (a snapshot has thousands of objects; fds are limited). */
const MAX_OPEN_FILES = 256;

/**
 * Open read-only file descriptors by path, least recently used closed first. Reads are synchronous
 * preads: a re-rank reads ~320 rows of 1 KB from local disk (the page cache, mostly), where each
 * asynchronous read would cost a thread-pool round trip of tens of microseconds; 320 synchronous ones
 * take about a millisecond.
 */
class HandlePool {
  private readonly open = new Map<string, number>();

  read(path: string, start: number, end: number): Buffer {
    const buf = Buffer.allocUnsafe(Math.max(0, end - start));
    const done = this.readInto(path, start, buf);
    return done === buf.length ? buf : buf.subarray(0, done);
  }

  readInto(path: string, start: number, target: Uint8Array): number {
    let fd = this.open.get(path);
    if (fd !== undefined) this.open.delete(path);
    else fd = openSync(path, 'r');
    this.open.set(path, fd);
    while (this.open.size > MAX_OPEN_FILES) {
      const [oldest, old] = this.open.entries().next().value!;
      this.open.delete(oldest);
      closeSync(old);
    }
    let done = 0;
    while (done < target.length) {
      const n = readSync(fd, target, done, target.length - done, start + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  forget(path: string): void {
    const fd = this.open.get(path);
    this.open.delete(path);
    if (fd !== undefined) closeSync(fd);
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * A bounded local disk cache of immutable, content-addressed objects, in the spirit of DiskANN
 * (compressed codes in memory, full vectors on local disk): a serving process reads re-rank vectors,
 * passages and offsets with pread from local copies, not with an object-store request per row. A copy
 * is verified against its sha256 when filled and again the first time this process uses it; one that
 * does not match is deleted and fetched again, never served. Processes may share a directory: copies
 * appear by rename (whole or not at all), and an evicted copy stays readable through open handles.
 */
export class ObjectCache {
  private readonly handles = new HandlePool();
  /** Objects verified (or filled) in this process and in use until released: never evicted by it. */
  private readonly ready = new Map<string, Promise<string>>();
  /** The settled subset of `ready`: copies that can be read synchronously. */
  private readonly verified = new Set<string>();
  /** sha256 -> size and last use, for LRU eviction (this process's view, seeded from the directory). */
  private readonly entries = new Map<string, { size: number; used: number }>();
  private scanned: Promise<void> | undefined;
  readonly stats: ObjectCacheStats = { fills: 0, hits: 0, evictions: 0, corrupt: 0, bytes: 0 };

  constructor(private readonly store: ObjectStore, private readonly o: ObjectCacheOptions) {}

  get dir(): string {
    return this.o.dir;
  }

  private pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ShardIntegrityError(`not a sha256: ${JSON.stringify(sha256)}`);
    return join(this.o.dir, sha256.slice(0, 2), sha256);
  }

  private scan(): Promise<void> {
    this.scanned ??= (async () => {
      await mkdir(this.o.dir, { recursive: true });
      for (const fan of await readdir(this.o.dir)) {
        if (!/^[0-9a-f]{2}$/.test(fan)) continue;
        for (const name of await readdir(join(this.o.dir, fan)).catch(() => [] as string[])) {
          if (!/^[0-9a-f]{64}$/.test(name)) continue;
          const st = await stat(join(this.o.dir, fan, name)).catch(() => null);
          if (st) this.entries.set(name, { size: st.size, used: st.mtimeMs });
        }
      }
      this.stats.bytes = [...this.entries.values()].reduce((a, e) => a + e.size, 0);
    })();
    return this.scanned;
  }

  /** Makes sure a verified copy is on disk (one GET if not); later reads of it make no request. */
  async prepare(ref: ObjectRef): Promise<void> {
    await this.pathReady(ref);
  }

  /** Byte ranges of the object, from its local copy (filled first if needed; readSync once it is). */
  ranges(ref: ObjectRef): ObjectRanges {
    const path = this.pathOf(ref.sha256);
    const ranges: ObjectRanges = {
      read: async (start, end) => {
        await this.pathReady(ref);
        return this.handles.read(path, start, end);
      },
    };
    Object.defineProperty(ranges, 'readSync', {
      enumerable: true,
      get: () => (this.verified.has(ref.sha256) ? (start: number, end: number) => this.handles.read(path, start, end) : undefined),
    });
    Object.defineProperty(ranges, 'readIntoSync', {
      enumerable: true,
      get: () => (this.verified.has(ref.sha256) ? (start: number, target: Uint8Array) => this.handles.readInto(path, start, target) : undefined),
    });
    return ranges;
  }

  private pathReady(ref: ObjectRef): Promise<string> {
    let p = this.ready.get(ref.sha256);
    if (!p) {
      p = this.verifyOrFill(ref).then((path) => {
        this.verified.add(ref.sha256);
        return path;
      });
      this.ready.set(ref.sha256, p);
      p.catch(() => this.ready.delete(ref.sha256));
    }
    return p;
  }

  private async verifyOrFill(ref: ObjectRef): Promise<string> {
    await this.scan();
    const path = this.pathOf(ref.sha256);
    if (this.entries.has(ref.sha256)) {
      if ((await sha256OfFile(path).catch(() => '')) === ref.sha256) {
        this.stats.hits++;
        await utimes(path, new Date(), new Date()).catch(() => undefined);
        return path;
      }
      this.o.logger?.warn({ event: 'cache.corrupt', key: ref.key, sha256: ref.sha256 }, 'cached copy does not match its sha256; fetching it again');
      this.stats.corrupt++;
      await this.drop(ref.sha256);
    }
    await this.fill(ref, path);
    return path;
  }

  private async fill(ref: ObjectRef, path: string): Promise<void> {
    await mkdir(join(this.o.dir, ref.sha256.slice(0, 2)), { recursive: true });
    // Streamed to a temporary file (objects run to hundreds of MB), hashed there, then renamed into place.
    const tmp = `${path}.${randomUUID()}.tmp`;
    try {
      await this.store.getToFile(ref.key, tmp);
      const got = await sha256OfFile(tmp);
      if (got !== ref.sha256) {
        throw new ShardIntegrityError(`${ref.key} in ${this.store.description} does not match its sha256 (${got.slice(0, 12)}, the manifest says ${ref.sha256.slice(0, 12)})`, { hint: 'the object was altered; rebuild the snapshot' });
      }
      const { size } = await stat(tmp);
      await this.makeRoom(size);
      await rename(tmp, path);
      this.entries.set(ref.sha256, { size, used: Date.now() });
      this.stats.bytes += size;
      this.stats.fills++;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Evicts least recently used copies not in use here until `incoming` more bytes fit under maxBytes. */
  private async makeRoom(incoming: number): Promise<void> {
    if (this.stats.bytes + incoming <= this.o.maxBytes) return;
    const victims = [...this.entries.entries()].filter(([sha]) => !this.ready.has(sha)).sort((a, b) => a[1].used - b[1].used);
    while (this.stats.bytes + incoming > this.o.maxBytes && victims.length) {
      const [sha] = victims.shift()!;
      await this.drop(sha);
      this.stats.evictions++;
    }
    if (this.stats.bytes + incoming > this.o.maxBytes) {
      this.o.logger?.warn({ event: 'cache.over-budget', bytes: this.stats.bytes + incoming, maxBytes: this.o.maxBytes }, 'object larger than the cache budget; raise RAG_CACHE_GB');
    }
  }

  private async drop(sha256: string): Promise<void> {
    const path = this.pathOf(sha256);
    const e = this.entries.get(sha256);
    this.handles.forget(path);
    this.ready.delete(sha256);
    this.verified.delete(sha256);
    await rm(path, { force: true });
    if (e) this.stats.bytes -= e.size;
    this.entries.delete(sha256);
  }

  /** This process no longer reads these objects (a snapshot was unloaded): their copies may be evicted. */
  release(refs: Iterable<ObjectRef>): void {
    for (const ref of refs) {
      this.verified.delete(ref.sha256);
      if (!this.ready.delete(ref.sha256)) continue;
      this.handles.forget(this.pathOf(ref.sha256));
    }
  }

  /** Whether a copy of this object is on disk (as this process knows the directory). */
  async has(sha256: string): Promise<boolean> {
    await this.scan();
    return this.entries.has(sha256);
  }
}

/**
 * Range reads of immutable objects for a serving process: the store's own files for local storage
 * (already on this disk), copies in `cache` for a remote store, else range requests to the store.
 */
export function objectRanges(store: ObjectStore, cache: ObjectCache | undefined, ref: ObjectRef): ObjectRanges {
  const local = store.localPath?.(ref.key);
  if (local) {
    const pool = sharedLocalHandles;
    return {
      read: async (start, end) => pool.read(local, start, end),
      readSync: (start, end) => pool.read(local, start, end),
      readIntoSync: (start, target) => pool.readInto(local, start, target),
    };
  }
  if (cache) return cache.ranges(ref);
  return { read: (start, end) => store.getRange(ref.key, start, end) };
}

const sharedLocalHandles = new HandlePool();
