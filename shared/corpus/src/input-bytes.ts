import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CorruptInputError, UsageError } from '@rag/core';
import type { Compression, CorpusReadStats } from './read-stats.js';
import { assertReadableFile, fileSource, readBytes, type ByteRange, type ByteSource } from './byte-source.js';

/** Options every reader accepts. */
export interface ReadOptions {
  /** Filled in while reading; see CorpusReadStats. */
  stats?: CorpusReadStats;
  /** Decompressor for .bz2 input, called as `<cmd> -dc` on stdin; default `bzip2` (lbzip2 is a faster drop-in). */
  bzip2Command?: string;
  /** JSONL: skip lines that are not a valid record (counted in stats.badLines) instead of failing. Default false. */
  skipBadLines?: boolean;
  /** Read from this source instead of the local file `path` (which then only names it in messages). */
  source?: ByteSource;
  /**
   * Only these bytes of the source: a range of whole bzip2 streams of a multistream dump. The
   * source's sha256 is then not known (stats.sourceSha256 stays unset).
   */
  range?: ByteRange;
}

const REDOWNLOAD_HINT =
  'the file is truncated or damaged: download it again and compare its checksum with the published one';

export { assertReadableFile } from './byte-source.js';

/** Compression by magic bytes, never by file name: "BZh" is bzip2, 1f 8b is gzip. */
export async function sniffCompression(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(3);
    const { bytesRead } = await fh.read(head, 0, 3, 0);
    return compressionOf(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

export function compressionOf(head: Uint8Array): Compression {
  if (head.length >= 3 && Buffer.from(head.subarray(0, 3)).toString('latin1') === 'BZh') return 'bzip2';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  return 'none';
}

/**
 * Streams the decompressed bytes of a corpus file, with constant memory.
 *
 * The raw file always flows through one tap that counts and hashes it, so
 * `stats.sourceSha256` is known at the end without reading the file twice.
 * bzip2 goes through the system `bzip2 -dc` (fast, handles multi-stream dumps);
 * its exit status is checked after its output ends, so a truncated or corrupt
 * archive fails with CorruptInputError even after good pages came out of it.
 */
export async function* readInputBytes(path: string, opts: ReadOptions = {}): AsyncGenerator<Buffer> {
  const range = opts.range;
  const source = opts.source ?? (range ? fileSource(path) : undefined);
  const size = source ? await source.size() : await assertReadableFile(path);
  const at = range?.start ?? 0;
  const compression = source ? compressionOf(await readBytes(source, { start: at, end: Math.min(size, at + 3) })) : await sniffCompression(path);
  const stats = opts.stats;
  if (stats) {
    stats.sourceSize = size;
    stats.compression = compression;
  }
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      if (stats) stats.sourceBytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      // Only reached when the whole file (or range) went through.
      if (stats && !range) stats.sourceSha256 = hash.digest('hex');
      done();
    },
  });
  const file = source ? await source.open(range) : createReadStream(path, { highWaterMark: 1 << 20 });

  if (compression === 'bzip2') {
    yield* bunzip(path, file, tap, opts.bzip2Command ?? 'bzip2');
    return;
  }
  const out: Readable =
    compression === 'gzip' ? pipeline(file, tap, createGunzip(), () => {}) : pipeline(file, tap, () => {});
  try {
    for await (const chunk of out) yield chunk as Buffer;
  } catch (err) {
    if (compression === 'gzip' && (err as NodeJS.ErrnoException).code?.startsWith('Z_')) {
      throw new CorruptInputError(`${path} is not a complete gzip file: ${(err as Error).message}`, {
        cause: err,
        hint: REDOWNLOAD_HINT,
        details: { path },
      });
    }
    throw new CorruptInputError(`Reading ${path} failed: ${(err as Error).message}`, { cause: err, details: { path } });
  } finally {
    out.destroy();
  }
}

async function* bunzip(path: string, file: Readable, tap: Transform, command: string): AsyncGenerator<Buffer> {
  const child = spawn(command, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (err) {
    file.destroy();
    throw new UsageError(`Cannot run '${command}' to decompress ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: 'install bzip2 (apt-get install bzip2) or decompress the file yourself',
    });
  }
  child.on('error', () => {}); // reported through the exit status below
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 4000) stderr += s;
  });
  // EPIPE on stdin just means bzip2 quit early; its exit status says why.
  let feedError: NodeJS.ErrnoException | undefined;
  pipeline(file, tap, child.stdin, (err) => {
    if (err) feedError = err as NodeJS.ErrnoException;
  });
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const { code, signal } = await closed;
    finished = true;
    if (code !== 0) {
      const why = stderr.trim().split('\n')[0]?.trim() ?? ''; // the first line says what went wrong
      throw new CorruptInputError(
        `${path} is not a complete bzip2 file: ${command} exited with ${code ?? signal}${why ? `: ${why}` : ''}`,
        { hint: REDOWNLOAD_HINT, details: { path, exitCode: code, signal, stderr: stderr.trim() } },
      );
    }
    if (feedError && feedError.code !== 'EPIPE') {
      throw new CorruptInputError(`Reading ${path} failed: ${feedError.message}`, { cause: feedError, details: { path } });
    }
  } finally {
    if (!finished) {
      file.destroy();
      child.kill();
    }
  }
}
