import { createHash } from 'node:crypto';
import { ShardIntegrityError } from '@rag/core';

/**
 * Per-row digests of a shard's passages and embeddings (`<sha>.rowsums` objects, named by the
 * manifest's `passagesRowSums` and `embeddingsRowSums`), 8 bytes per row. Serving reads single rows
 * by range (a passage through its offsets, an embedding row for the re-rank) and checks each against
 * its digest, so a row that is not the one asked for (rows swapped, an id edited, one float changed
 * but still finite) is an error, not a wrong answer. The passage's own `hash` covers title and text
 * only (it is what finds reusable embeddings).
 *
 * Passages: the first 8 bytes of sha256(row as uint32 LE || the line), ~3 µs a row, read for the
 * k hits only. Embeddings: a Fletcher-style pair of 32-bit sums over the row's uint32 words, seeded
 * by the row number (`vectorRowSum`), ~0.7 µs a row: a re-rank reads hundreds of rows per question,
 * where sha256 would add ~20 % to a 2M-passage query. It detects misplaced rows and corrupted words,
 * not deliberate forgery (the objects themselves are sha256-checked where they are copied).
 */
export const ROW_SUM_BYTES = 8;

export function rowSum(row: number, bytes: Uint8Array): Buffer {
  const r = Buffer.allocUnsafe(4);
  r.writeUInt32LE(row, 0);
  return createHash('sha256').update(r).update(bytes).digest().subarray(0, ROW_SUM_BYTES);
}

/** The digests of `rows` rows, each given by `rowBytes(row)`. */
export function rowSumsOf(rows: number, rowBytes: (row: number) => Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(rows * ROW_SUM_BYTES);
  for (let i = 0; i < rows; i++) rowSum(i, rowBytes(i)).copy(out, i * ROW_SUM_BYTES);
  return out;
}

/** Throws unless `bytes` are row `row` as the digests recorded it. */
export function checkRowSum(sums: Uint8Array, row: number, bytes: Uint8Array, where: string): void {
  const at = row * ROW_SUM_BYTES;
  if (at + ROW_SUM_BYTES > sums.length) throw new ShardIntegrityError(`${where}: no digest for row ${row}`, { hint: 'the object was altered; rebuild the snapshot' });
  const want = sums.subarray(at, at + ROW_SUM_BYTES);
  if (!rowSum(row, bytes).equals(want)) {
    throw new ShardIntegrityError(`${where}: row ${row} is not the row the snapshot recorded (digest mismatch)`, { hint: 'the object was altered or rows were moved; rebuild the snapshot' });
  }
}

/** Embedding rows: two 32-bit running sums over the row's uint32 LE words, seeded by the row number. */
export function vectorRowSum(row: number, bytes: Uint8Array): [number, number] {
  const n = bytes.length >>> 2;
  const aligned = (bytes.byteOffset & 3) === 0 ? bytes : Uint8Array.from(bytes);
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, n);
  let s1 = (row + 1) | 0;
  let s2 = Math.imul(row, 0x9e3779b1) | 0;
  for (let i = 0; i < n; i++) {
    s1 = (s1 + words[i]!) | 0;
    s2 = (s2 + s1) | 0;
  }
  return [s1 >>> 0, s2 >>> 0];
}

export function vectorRowSumsOf(rows: number, rowBytes: (row: number) => Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(rows * ROW_SUM_BYTES);
  for (let i = 0; i < rows; i++) {
    const [a, b] = vectorRowSum(i, rowBytes(i));
    out.writeUInt32LE(a, i * ROW_SUM_BYTES);
    out.writeUInt32LE(b, i * ROW_SUM_BYTES + 4);
  }
  return out;
}

export function checkVectorRowSum(sums: Buffer, row: number, bytes: Uint8Array, where: string): void {
  const at = row * ROW_SUM_BYTES;
  if (at + ROW_SUM_BYTES > sums.length) throw new ShardIntegrityError(`${where}: no digest for row ${row}`, { hint: 'the object was altered; rebuild the snapshot' });
  const [a, b] = vectorRowSum(row, bytes);
  if (sums.readUInt32LE(at) !== a || sums.readUInt32LE(at + 4) !== b) {
    throw new ShardIntegrityError(`${where}: row ${row} is not the row the snapshot recorded (digest mismatch)`, { hint: 'the object was altered or rows were moved; rebuild the snapshot' });
  }
}
