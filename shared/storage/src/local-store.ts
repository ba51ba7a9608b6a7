import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, open, readdir, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ObjectNotFoundError, StorageError, UsageError, sha256 } from '@rag/core';
import { TEMP_MARKER, assertValidKey, assertValidPrefix, compareKeys } from './object-key.js';
import type { ObjectInfo, ObjectStore, PutResult } from './object-store.js';
import { makeDirs } from './make-dirs.js';

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
}

function toBuffer(body: Uint8Array | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Creates the parent directories and the file; retries if a concurrent delete pruned the directory in between. */
async function openCreating(path: string) {
  for (let attempt = 0; ; attempt++) {
    await makeDirs(dirname(path));
    try {
      return await open(path, 'wx');
    } catch (err) {
      if (errCode(err) !== 'ENOENT' || attempt >= 3) throw err;
    }
  }
}

/** fsync of the directory makes the rename itself durable, not just the file contents. */
async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Objects as files under a root directory. Every write goes to a temp file in the target's directory,
 * is fsynced, then renamed (or hard-linked, for putIfAbsent) into place, so readers and crashes only
 * ever see whole objects. Leftover temp files from a crash are ignored by list().
 */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  readonly description: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
    this.description = pathToFileURL(this.root).href;
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return join(this.root, ...key.split('/'));
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  private wrap(err: unknown, op: string, key: string): Error {
    const code = errCode(err);
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      if (op === 'get') return new ObjectNotFoundError(`object not found: ${key} in ${this.description}`, { cause: err, details: { key } });
    }
    if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
      return new StorageError(`cannot ${op} ${key} in ${this.description}: a path along the key is a file where a directory is needed, or the reverse`, {
        cause: err,
        hint: `a local store cannot hold both "a" and "a/b"; choose non-overlapping keys, and check that ${this.root} is a directory`,
      });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new StorageError(`cannot ${op} ${key} in ${this.description}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'} (${code})`, {
        cause: err,
        hint: `check that RAG_STORAGE=${this.root} is writable by this process (user ${process.getuid?.() ?? '?'}), or point RAG_STORAGE elsewhere`,
      });
    }
    if (code === 'ENOENT' && op !== 'get') {
      return new StorageError(`cannot ${op} ${key} in ${this.description}: ${(err as Error).message}`, {
        cause: err,
        hint: `RAG_STORAGE=${this.root} must be a directory this process can create directories and files in`,
      });
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new StorageError(`cannot ${op} ${key} in ${this.description}: disk full`, { cause: err, hint: 'free space or point RAG_STORAGE elsewhere' });
    }
    return new StorageError(`cannot ${op} ${key} in ${this.description}: ${(err as Error).message}`, { cause: err });
  }

  /** Writes chunks into a fresh fsynced temp file next to `dest`; returns its path, size and digest. */
  private async writeTemp(dest: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ tmp: string; size: number; sha256: string }> {
    const tmp = tempPathFor(dest);
    const h = await openCreating(tmp);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.byteLength;
        await h.write(chunk);
      }
      await h.sync();
    } catch (err) {
      await h.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await h.close();
    return { tmp, size, sha256: hash.digest('hex') };
  }

  private async commit(tmp: string, dest: string): Promise<void> {
    try {
      await rename(tmp, dest);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncDir(dirname(dest));
  }

  async put(key: string, body: Uint8Array | string): Promise<PutResult> {
    const dest = this.pathOf(key);
    const buf = toBuffer(body);
    try {
      const { tmp } = await this.writeTemp(dest, [buf]);
      await this.commit(tmp, dest);
    } catch (err) {
      throw this.wrap(err, 'put', key);
    }
    return { key, size: buf.byteLength, sha256: sha256(buf) };
  }

  async putFile(key: string, path: string): Promise<PutResult> {
    const dest = this.pathOf(key);
    try {
      await stat(path);
    } catch (err) {
      throw new UsageError(`cannot upload ${path}: ${errCode(err) ?? (err as Error).message}`, { cause: err });
    }
    try {
      const { tmp, size, sha256: digest } = await this.writeTemp(dest, createReadStream(path, { highWaterMark: 1 << 20 }));
      await this.commit(tmp, dest);
      return { key, size, sha256: digest };
    } catch (err) {
      throw this.wrap(err, 'put', key);
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    const dest = this.pathOf(key);
    try {
      const { tmp } = await this.writeTemp(dest, [toBuffer(body)]);
      try {
        // link() fails with EEXIST instead of replacing: an atomic create-if-absent of a complete file.
        await link(tmp, dest);
      } catch (err) {
        if (errCode(err) === 'EEXIST') return false;
        throw err;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
      await syncDir(dirname(dest));
      return true;
    } catch (err) {
      throw this.wrap(err, 'put', key);
    }
  }

  async get(key: string): Promise<Buffer> {
    const path = this.pathOf(key);
    try {
      return await readFile(path);
    } catch (err) {
      throw this.wrap(err, 'get', key);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    assertRange(start, end);
    const path = this.pathOf(key);
    let h;
    try {
      h = await open(path, 'r');
    } catch (err) {
      throw this.wrap(err, 'get', key);
    }
    try {
      const buf = Buffer.allocUnsafe(end - start);
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await h.read(buf, got, buf.length - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === buf.length ? buf : buf.subarray(0, got);
    } catch (err) {
      throw this.wrap(err, 'get', key);
    } finally {
      await h.close();
    }
  }

  async getToFile(key: string, path: string): Promise<void> {
    const src = this.pathOf(key);
    const dest = resolve(path);
    await makeDirs(dirname(dest));
    const tmp = tempPathFor(dest);
    try {
      await copyFile(src, tmp);
      await rename(tmp, dest);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw this.wrap(err, 'get', key);
    }
  }

  async getStream(key: string): Promise<NodeJS.ReadableStream> {
    const path = this.pathOf(key);
    try {
      // Opening first turns a missing key into ObjectNotFoundError now rather than a stream 'error' later.
      const h = await open(path, 'r');
      if (!(await h.stat()).isFile()) {
        await h.close();
        throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
      }
      return h.createReadStream({ highWaterMark: 1 << 20 });
    } catch (err) {
      throw this.wrap(err, 'get', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path);
      return st.isFile() ? { size: st.size, modifiedMs: st.mtimeMs } : null;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw this.wrap(err, 'stat', key);
    }
  }

  async exists(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      return (await stat(path)).isFile();
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw this.wrap(err, 'stat', key);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // Only the directory named by the prefix up to its last '/' can hold matches.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        const code = errCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw this.wrap(err, 'list', prefix);
      }
      for (const e of entries) {
        if (e.name.includes(TEMP_MARKER)) continue;
        const key = keyPrefix + e.name;
        if (e.isDirectory()) {
          // Descend only where a match is still possible.
          if (key.startsWith(prefix) || prefix.startsWith(key + '/')) await walk(join(dir, e.name), key + '/');
        } else if (e.isFile() && key.startsWith(prefix)) {
          out.push(key);
        }
      }
    };
    await walk(dirKey ? join(this.root, ...dirKey.split('/')) : this.root, dirKey ? dirKey + '/' : '');
    return out.sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      if (code === 'EISDIR' || code === 'EPERM') {
        if (!(await stat(path).then((s) => s.isFile(), () => false))) return;
      }
      throw this.wrap(err, 'delete', key);
    }
    await this.pruneEmptyDirs(dirname(path));
  }

  async deleteIfUnmodifiedSince(key: string, sinceMs: number): Promise<boolean> {
    const path = this.pathOf(key);
    // Renamed away first: a writer that puts the key from now on creates a new file, which stays.
    const aside = tempPathFor(path);
    try {
      await rename(path, aside);
    } catch (err) {
      if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return false;
      throw this.wrap(err, 'delete', key);
    }
    const st = await stat(aside);
    if (st.mtimeMs > sinceMs) {
      // Rewritten before the rename: put it back, unless a newer write took the name meanwhile.
      await link(aside, path).catch((err: unknown) => { if (errCode(err) !== 'EEXIST') throw this.wrap(err, 'delete', key); });
      await unlink(aside).catch(() => undefined);
      return false;
    }
    await unlink(aside);
    await this.pruneEmptyDirs(dirname(path));
    return true;
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    if (prefix === '') throw new UsageError('refusing to delete every object in the store (empty prefix)');
    const keys = await this.list(prefix);
    for (const key of keys) await this.delete(key);
    return keys.length;
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }

  /** Removes directories left empty by deletes, up to (not including) the root, so list() stays cheap. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    let cur = dir;
    while (cur.startsWith(this.root + sep)) {
      try {
        await rmdir(cur);
      } catch {
        return; // not empty (or raced with a writer): stop
      }
      cur = dirname(cur);
    }
  }
}

/** A byte range [start, end) with whole, non-negative bounds. */
export function assertRange(start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new UsageError(`invalid byte range [${start}, ${end})`);
  }
}
