import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UsageError } from '@rag/core';
import { Readable } from 'node:stream';

/** Bytes [start, end) of a source. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where a corpus's raw bytes come from: a local file, or an object behind the S3 API (see
 * @rag/storage's openS3Source). Readers stream the whole source or a byte range of it, so a
 * multistream dump can be read by several jobs, each its own range, without a shared disk.
 */
export interface ByteSource {
  /** The path or s3:// URL, for messages and manifests. */
  readonly name: string;
  /** Size in bytes; fails with a clear error if the source is missing. */
  size(): Promise<number>;
  /** The raw bytes of [start, end) (default: all), streamed. */
  open(range?: ByteRange): Promise<Readable>;
}

/** Fails early, with a message a user can act on, when the path is not a readable file. */
export async function assertReadableFile(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new UsageError(`Corpus path is not a file: ${path}`, { hint: 'pass the path of a dump, TSV or JSONL file' });
    }
    return info.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UsageError(`Corpus file not found: ${path}`, { cause: err, hint: 'check the path (relative paths are resolved from the current directory)' });
    }
    throw new UsageError(`Cannot read corpus file ${path}: ${(err as Error).message}`, { cause: err, hint: 'check that the file exists and is readable' });
  }
}

/** A local file as a ByteSource. */
export function fileSource(path: string): ByteSource {
  return {
    name: path,
    size: () => assertReadableFile(path),
    async open(range?: ByteRange): Promise<Readable> {
      if (range && range.end <= range.start) return Readable.from([]);
      return createReadStream(path, { highWaterMark: 1 << 20, ...(range ? { start: range.start, end: range.end - 1 } : {}) });
    },
  };
}

/** Reads bytes [start, end) into memory: for the few small reads of a plan (magic numbers), never for content. */
export async function readBytes(source: ByteSource, range: ByteRange): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await source.open(range)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
