import { createHash } from 'node:crypto';
import { ShardIntegrityError } from '@rag/core';

/**
 * Per-row digests of a shard's passages and embeddings (`<sha>.rowsums` objects, named by the
 * manifest): 8 bytes per row, the first 8 bytes of sha256(row as uint32 LE || the row's bytes).
 * Serving reads single rows by range (a passage through its offsets, an embedding row for the
 * re-rank) and checks each against its digest, so a row that is not the one asked for (rows
 * swapped, an id edited, one float changed but still finite) is an error, not a wrong answer.
 * The passage's own `hash` covers title and text only (it is what finds reusable embeddings).
 */
export const ROW_SUM_BYTES = 8;

export function rowSum(row: number, bytes: Uint8Array): Buffer {
  const r = Buffer.allocUnsafe(4);
  r.writeUInt32LE(row, 0);
  return createHash('sha256').update(r).update(bytes).digest().subarray(0, ROW_SUM_BYTES);
}

/** The digests of rows given as consecutive byte ranges of `body` (`ends[i]` = end of row i). */
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
