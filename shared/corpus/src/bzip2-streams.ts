import { spawn } from 'node:child_process';
import { UsageError } from '@rag/core';
import type { ByteSource } from './byte-source.js';

/**
 * Every bzip2 stream starts byte-aligned with "BZh", a block-size digit '1'-'9' and the first
 * block's magic 0x314159265359 ("1AY&SY"). Inside a stream blocks are not byte-aligned, so these
 * ten bytes at a byte offset mark a stream start; a chance match inside compressed data is
 * possible (about 2^-80 per offset) and is ruled out by decompressing from the candidate.
 */
const BLOCK_MAGIC = Buffer.from('1AY&SY', 'latin1');
export const STREAM_HEADER_BYTES = 10;

/** True when `head` (at least ten bytes) is the start of a bzip2 stream with at least one block. */
export function isStreamStart(head: Uint8Array, at = 0): boolean {
  if (head.length < at + STREAM_HEADER_BYTES) return false;
  return head[at] === 0x42 && head[at + 1] === 0x5a && head[at + 2] === 0x68 // "BZh"
    && head[at + 3]! >= 0x31 && head[at + 3]! <= 0x39
    && Buffer.from(head.buffer, head.byteOffset + at + 4, 6).equals(BLOCK_MAGIC);
}

/** Offsets (relative to `buf`) of every stream start in `buf`. */
export function streamStartsIn(buf: Buffer): number[] {
  const out: number[] = [];
  for (let i = buf.indexOf(BLOCK_MAGIC, 4); i >= 0; i = buf.indexOf(BLOCK_MAGIC, i + 1)) {
    if (isStreamStart(buf, i - 4)) out.push(i - 4);
  }
  return out;
}

/**
 * Stream starts at or after `from`, in order, read from a window of `window` bytes (what a
 * planner looks at near a split point, never the whole dump).
 */
export async function* findStreamStarts(source: ByteSource, from: number, window: number): AsyncGenerator<number> {
  const size = await source.size();
  const end = Math.min(size, from + window);
  let carry = Buffer.alloc(0);
  let carryAt = from;
  for await (const chunk of await source.open({ start: from, end })) {
    const buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    // A header may straddle chunks: the last nine bytes are searched again with the next chunk.
    const keep = Math.min(buf.length, STREAM_HEADER_BYTES - 1);
    for (const at of streamStartsIn(buf)) if (at <= buf.length - STREAM_HEADER_BYTES) yield carryAt + at;
    carry = Buffer.from(buf.subarray(buf.length - keep));
    carryAt += buf.length - keep;
  }
}

/** How many compressed bytes peekText feeds bzip2: more than one 900k block compresses to. */
const PEEK_BYTES = 2 << 20;

/**
 * The first `chars` characters (UTF-8) that bzip2 decompresses from the stream at `offset`, or
 * null when bzip2 cannot decode from there (not a real stream start). Stops bzip2 early.
 */
export async function peekBzip2Text(source: ByteSource, offset: number, chars = 256, command = 'bzip2'): Promise<string | null> {
  const size = await source.size();
  const input = await source.open({ start: offset, end: Math.min(size, offset + PEEK_BYTES) });
  const child = spawn(command, ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  try {
    await spawned;
  } catch (err) {
    input.destroy();
    throw new UsageError(`Cannot run '${command}' to read ${source.name}: ${(err as Error).message}`, {
      cause: err,
      hint: 'install bzip2 (apt-get install bzip2)',
    });
  }
  child.stdin.on('error', () => {}); // EPIPE once we stop reading
  input.on('error', () => child.stdin.destroy());
  input.pipe(child.stdin);
  const got: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of child.stdout) {
      got.push(c as Buffer);
      n += (c as Buffer).length;
      if (n >= chars * 4) break;
    }
  } finally {
    input.unpipe(child.stdin);
    input.destroy();
    child.kill();
  }
  if (n === 0) return null;
  // Cut at a character boundary: a partial UTF-8 sequence at the end is dropped, not replaced.
  return new TextDecoder('utf-8').decode(Buffer.concat(got).subarray(0, chars * 4)).replace(/\uFFFD+$/, '').slice(0, chars);
}
