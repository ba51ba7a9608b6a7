import { TextChecker } from '@rag/core';
import { readInputBytes, type ReadOptions } from './input-bytes.js';
import { createReadStats, type CorpusReadStats } from './read-stats.js';
import { preferUpstreamError } from './upstream-error.js';

// The encoding sniffing and the text check are @rag/core's (one validation for every reader of user files).
export { sniffEncoding } from '@rag/core';

const EXPECTED = 'a MediaWiki XML dump, a DPR TSV or a JSONL corpus';

/**
 * Bytes to text, streaming: strips a BOM, transcodes UTF-16 (either byte
 * order), and fails on invalid byte sequences instead of silently inserting
 * U+FFFD, and on binary content (NUL or control characters), so a damaged or
 * wrong file is reported, not indexed.
 */
export async function* decodeText(
  bytes: AsyncIterable<Buffer>,
  path: string,
  stats?: CorpusReadStats,
): AsyncGenerator<string> {
  const it = bytes[Symbol.asyncIterator]();
  try {
    // Collect enough bytes to sniff the encoding (chunks are normally far larger).
    const first: Buffer[] = [];
    let firstLen = 0;
    let done = false;
    while (firstLen < 4) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      first.push(r.value);
      firstLen += r.value.length;
    }
    const head = Buffer.concat(first);
    // readInputBytes has sniffed the compression by its first chunk: offsets name the decompressed data only then.
    const decompressed = stats?.compression !== undefined && stats.compression !== 'none';
    const checker = new TextChecker(path, head, { decompressed, expected: EXPECTED });
    if (stats) stats.encoding = checker.encoding;
    const decode = async (chunk?: Buffer): Promise<string> => {
      try {
        return chunk ? checker.decode(chunk) : checker.end();
      } catch (err) {
        return preferUpstreamError(it, err as Error);
      }
    };
    if (head.length > 0) {
      const s = await decode(head);
      if (s) yield s;
    }
    while (!done) {
      const r = await it.next();
      if (r.done) break;
      const s = await decode(r.value);
      if (s) yield s;
    }
    const tail = await decode();
    if (tail) yield tail;
  } finally {
    await it.return?.();
  }
}

/** Text of a corpus file: decompressed (by magic bytes) and decoded, as a stream of chunks. */
export function readInputText(path: string, opts: ReadOptions = {}): AsyncGenerator<string> {
  const withStats = { ...opts, stats: opts.stats ?? createReadStats() };
  return decodeText(readInputBytes(path, withStats), path, withStats.stats);
}
