import { CorruptInputError } from '@rag/core';
import { readInputBytes, type ReadOptions } from './input-bytes.js';
import type { CorpusReadStats, TextEncoding } from './read-stats.js';
import { preferUpstreamError } from './upstream-error.js';

/**
 * Encoding from the first bytes: a byte-order mark, or for BOM-less UTF-16 the
 * zero bytes around the first ASCII character (`<?xml`, `{`, `id`).
 */
export function sniffEncoding(head: Uint8Array): TextEncoding {
  const [a, b, c, d] = head;
  if (a === 0xff && b === 0xfe) return 'utf-16le';
  if (a === 0xfe && b === 0xff) return 'utf-16be';
  if (a === 0xef && b === 0xbb && c === 0xbf) return 'utf-8';
  if (head.length >= 4) {
    if (a !== 0 && b === 0 && c !== 0 && d === 0) return 'utf-16le';
    if (a === 0 && b !== 0 && c === 0 && d !== 0) return 'utf-16be';
  }
  return 'utf-8';
}

/**
 * Bytes to text, streaming: strips a BOM, transcodes UTF-16 (either byte
 * order), and fails on invalid byte sequences instead of silently inserting
 * U+FFFD, so a damaged file is reported, not indexed.
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
    const encoding = sniffEncoding(head);
    if (stats) stats.encoding = encoding;
    const decoder = new TextDecoder(encoding, { fatal: true }); // strips the BOM by default
    let offset = 0;
    const decode = async (chunk?: Buffer): Promise<string> => {
      try {
        return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
      } catch (err) {
        const bad = new CorruptInputError(
          `${path} is not valid ${encoding} text${chunk ? ` (within bytes ${offset}-${offset + chunk.length} of the decompressed data)` : ' (it ends inside a character)'}`,
          {
            cause: err,
            hint: 'convert the file to UTF-8 (e.g. with iconv) or, if it should already be UTF-8, download it again',
            details: { path, encoding, offset },
          },
        );
        return preferUpstreamError(it, bad);
      }
    };
    if (head.length > 0) {
      const s = await decode(head);
      offset += head.length;
      if (s) yield s;
    }
    while (!done) {
      const r = await it.next();
      if (r.done) break;
      const s = await decode(r.value);
      offset += r.value.length;
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
  return decodeText(readInputBytes(path, opts), path, opts.stats);
}
