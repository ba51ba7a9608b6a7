import { createHash } from 'node:crypto';
import { CorruptInputError, UsageError } from '@rag/core';
import { readBytes, type ByteRange, type ByteSource } from './byte-source.js';
import { findStreamStarts, isStreamStart, peekBzip2Text, STREAM_HEADER_BYTES } from './bzip2-streams.js';
import { readMultistreamIndexOffsets } from './multistream-index.js';

/**
 * How one dump's ingest is split into jobs: consecutive byte ranges covering the whole file, each
 * starting at a bzip2 stream whose text starts with a <page> (so every range is a run of whole
 * pages). Ranges are read independently; their pages, in range order, are the dump's pages.
 */
export interface MultistreamPlan {
  size: number;
  ranges: ByteRange[];
  /** Where the split points came from: Wikipedia's index file, a scan for stream starts, or none found. */
  boundaries: 'index' | 'scan' | 'none';
}

export interface PlanOptions {
  /** Ranges wanted (at most; fewer when the dump has fewer usable stream boundaries). */
  jobs: number;
  /** Wikipedia's `…-multistream-index.txt.bz2` for this dump (offset:pageid:title lines). */
  index?: ByteSource;
  bzip2Command?: string;
}

/** Bytes searched for a stream start after each split target when there is no index (a Wikipedia stream of 100 pages is well under 2 MB). */
export const SCAN_WINDOW = 32 << 20;
/** Stream starts tried per split point before giving up on it. */
const CANDIDATES = 8;

/**
 * Split points near size·k/jobs (k = 1…jobs-1), at stream starts taken from the index file when
 * given, else found by scanning a window after each target. Each split point is validated: ten
 * bytes of stream header, and bzip2 decompressing from it to text that starts with <page>. A
 * dump with no such boundary (single-stream, or streams cut mid-page as pbzip2 writes them)
 * gives one range. Reads only the index and a few windows of the dump, never all of it.
 */
export async function planMultistreamRanges(source: ByteSource, opts: PlanOptions): Promise<MultistreamPlan> {
  const size = await source.size();
  const whole: MultistreamPlan = { size, ranges: [{ start: 0, end: size }], boundaries: 'none' };
  if (opts.jobs <= 1 || size < STREAM_HEADER_BYTES || !isStreamStart(await readBytes(source, { start: 0, end: STREAM_HEADER_BYTES }))) {
    return whole;
  }
  const targets: number[] = [];
  for (let k = 1; k < opts.jobs; k++) targets.push(Math.floor((size * k) / opts.jobs));

  const candidates: number[][] = targets.map(() => []);
  if (opts.index) {
    for await (const offset of readMultistreamIndexOffsets(opts.index, opts)) {
      if (offset >= size) {
        throw new CorruptInputError(`multistream index ${opts.index.name} names offset ${offset}, past the end of ${source.name} (${size} bytes)`, {
          hint: 'the index file belongs to another dump: pass the index of this dump (--multistream-index) or none',
        });
      }
      targets.forEach((t, k) => { if (offset >= t && candidates[k]!.length < CANDIDATES) candidates[k]!.push(offset); });
      if (candidates.every((c) => c.length >= CANDIDATES)) break;
    }
  } else {
    for (let k = 0; k < targets.length; k++) {
      for await (const at of findStreamStarts(source, targets[k]!, SCAN_WINDOW)) {
        candidates[k]!.push(at);
        if (candidates[k]!.length >= CANDIDATES) break;
      }
    }
  }

  const splits: number[] = [];
  for (const list of candidates) {
    for (const at of list) {
      if (at <= (splits[splits.length - 1] ?? 0)) continue;
      if (await startsPages(source, at, opts)) { splits.push(at); break; }
      if (opts.index && !isStreamStart(await readBytes(source, { start: at, end: at + STREAM_HEADER_BYTES }))) {
        throw new CorruptInputError(`multistream index ${opts.index.name} names offset ${at}, which is not a bzip2 stream start in ${source.name}`, {
          hint: 'the index file belongs to another dump (or the dump is damaged): pass the index of this dump, or none to scan',
        });
      }
    }
  }
  if (splits.length === 0) return whole;
  const bounds = [0, ...splits, size];
  return {
    size,
    ranges: bounds.slice(1).map((end, i) => ({ start: bounds[i]!, end })),
    boundaries: opts.index ? 'index' : 'scan',
  };
}

/** A split point: a real stream start whose text begins with a <page> element. */
async function startsPages(source: ByteSource, at: number, opts: PlanOptions): Promise<boolean> {
  if (!isStreamStart(await readBytes(source, { start: at, end: at + STREAM_HEADER_BYTES }))) return false;
  const text = await peekBzip2Text(source, at, 64, opts.bzip2Command);
  return text !== null && /^\s*<page[\s>]/.test(text);
}

/** Where Wikipedia puts the index of `…-pages-articles-multistream.xml.bz2`: `…-pages-articles-multistream-index.txt.bz2`. */
export function multistreamIndexNameFor(dump: string): string | undefined {
  return /\.xml\.bz2$/.test(dump) ? dump.replace(/\.xml\.bz2$/, '-index.txt.bz2') : undefined;
}

/** sha256 of a whole source, streamed (a ranged ingest's source identity: no single job reads it all). */
export async function sha256Source(source: ByteSource): Promise<string> {
  const h = createHash('sha256');
  for await (const c of await source.open()) h.update(c as Buffer);
  return h.digest('hex');
}

export function assertJobs(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new UsageError(`--ingest-jobs must be a whole number from 1 to 4096, got ${n}`);
  return n;
}
