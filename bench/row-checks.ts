// What checking every range-read row costs serving (row-sums.ts): the re-rank of one question reads
// `rows` embedding rows (k x rerank candidates; 320 at k=10 on the 2M bench) and scores them; the
// final k passages are read through their offsets. Measured in one run, with and without the checks.
// Prints one JSON line.
//
//   npm run bench:row-checks -- [--rows 320] [--dim 256] [--queries 3000]
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { checkRowSum, checkVectorRowSum, rowSumsOf, vectorRowSumsOf } from '@rag/snapshot';

const { values: o } = parseArgs({ options: { rows: { type: 'string', default: '320' }, dim: { type: 'string', default: '256' }, queries: { type: 'string', default: '3000' }, k: { type: 'string', default: '10' } } });
const rows = Number(o.rows);
const dim = Number(o.dim);
const queries = Number(o.queries);
const k = Number(o.k);
const bytesPerRow = dim * 4;
const table = new Float32Array(rows * dim).map(() => Math.random() - 0.5);
const tableBytes = new Uint8Array(table.buffer);
const vsums = vectorRowSumsOf(rows, (r) => tableBytes.subarray(r * bytesPerRow, (r + 1) * bytesPerRow));
const lines = Array.from({ length: k }, (_, i) => Buffer.from(JSON.stringify({ id: `p${i}-0`, title: `Title ${i}`, text: randomBytes(300).toString('base64'), hash: 'x' }) + '\n'));
const psums = rowSumsOf(k, (r) => lines[r]!);
const query = new Float32Array(dim).map(() => Math.random() - 0.5);

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** One question's re-rank: copy each row into a buffer (as the pread does), optionally check it, score it. */
function question(check: boolean): number {
  const buf = new Float32Array(rows * dim);
  const bytes = new Uint8Array(buf.buffer);
  let best = -Infinity;
  for (let r = 0; r < rows; r++) {
    const row = bytes.subarray(r * bytesPerRow, (r + 1) * bytesPerRow);
    row.set(tableBytes.subarray(r * bytesPerRow, (r + 1) * bytesPerRow));
    if (check) checkVectorRowSum(vsums, r, row, 'bench');
    best = Math.max(best, dot(query, buf.subarray(r * dim, (r + 1) * dim)));
  }
  if (check) for (let i = 0; i < k; i++) checkRowSum(psums, i, lines[i]!, 'bench');
  return best;
}

function time(check: boolean): number {
  const t = process.hrtime.bigint();
  let x = 0;
  for (let q = 0; q < queries; q++) x += question(check);
  if (Number.isNaN(x)) throw new Error('unreachable');
  return Number(process.hrtime.bigint() - t) / 1e6 / queries;
}

// Warm up both paths, then alternate to share the machine's noise between them.
time(false); time(true);
const plain: number[] = [];
const checked: number[] = [];
for (let i = 0; i < 5; i++) { plain.push(time(false)); checked.push(time(true)); }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p = median(plain);
const c = median(checked);
process.stdout.write(JSON.stringify({
  bench: 'row-checks', rows, dim, k, queries,
  rerankMsPerQuestion: { unchecked: round(p), checked: round(c), ratio: round(c / p), addedMs: round(c - p) },
  cpu: cpus()[0]?.model,
}) + '\n');

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
