import { UsageError } from '@rag/core';
import type { Passage } from '@rag/corpus';
import { putContent, rowSumsOf } from '@rag/snapshot';
import type { ObjectStore } from '@rag/storage';
import type { IngestShard } from './job-payloads.schema.js';

/** Where a row's embedding can be copied from: an embeddings object of the base snapshot and a row in it. */
export interface EmbeddingSource {
  key: string;
  sha256: string;
  row: number;
}

/** The reuse plan of one new shard, stored as a content object and read by its encode job. */
export interface ReusePlan {
  v: 1;
  /** The base's encoder: the plan applies only when the build encodes with the same one. */
  encoderSha256: string;
  sources: { key: string; sha256: string }[];
  /** [row in this shard, index into sources, row in that embeddings object], ascending by row. */
  rows: [number, number, number][];
}

/** uint32 little-endian bytes, whatever the host. */
export function uint32Le(v: Uint32Array): Buffer {
  const b = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeUInt32LE(v[i]!, i * 4);
  return b;
}

/** One passage per line, fixed key order, so the same corpus always gives the same bytes. */
export function passageLine(p: Passage): string {
  return JSON.stringify({ id: p.id, title: p.title, text: p.text, hash: p.hash }) + '\n';
}

/** A passage as a shard row: its line (passageLine) with the id and hash ingest needs beside it. */
export interface PassageRow {
  id: string;
  hash: string;
  line: string;
}

export function passageRow(p: Passage): PassageRow {
  return { id: p.id, hash: p.hash, line: passageLine(p) };
}

/**
 * Cuts a stream of passages into shards of `shardSize` rows, each written as a content-addressed
 * JSONL object (with its reuse plan when rows can borrow embeddings). Holds one shard in memory.
 */
export class ShardWriter {
  readonly shards: IngestShard[] = [];
  private lines: string[] = [];
  private reuse: [number, EmbeddingSource][] = [];
  private first = '';
  private last = '';
  total = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly shardSize: number,
    private readonly encoderSha256: string | undefined,
    private readonly onShard?: (passages: number, shards: number) => Promise<void> | void,
  ) {}

  /** Appends passages; returns their location as [shard, first row, count] runs. */
  async add(passages: Passage[], sources?: (EmbeddingSource | undefined)[]): Promise<[number, number, number][]> {
    return this.addRows(passages.map(passageRow), sources);
  }

  /** Appends rows already serialised (a range job's output is merged without parsing its passages). */
  async addRows(rows: PassageRow[], sources?: (EmbeddingSource | undefined)[]): Promise<[number, number, number][]> {
    const loc: [number, number, number][] = [];
    for (let i = 0; i < rows.length; i++) {
      const p = rows[i]!;
      const shard = this.shards.length;
      const row = this.lines.length;
      const run = loc[loc.length - 1];
      if (run && run[0] === shard && run[1] + run[2] === row) run[2]++;
      else loc.push([shard, row, 1]);
      if (row === 0) this.first = p.id;
      this.last = p.id;
      this.lines.push(p.line);
      const src = sources?.[i];
      if (src) this.reuse.push([row, src]);
      this.total++;
      if (this.lines.length >= this.shardSize) await this.flush();
    }
    return loc;
  }

  async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const shard = this.shards.length;
    const body = this.lines.join('');
    const stored = await putContent(this.store, body, 'passages');
    const offsets = new Uint32Array(this.lines.length + 1);
    let at = 0;
    this.lines.forEach((line, i) => { offsets[i] = at; at += Buffer.byteLength(line); });
    if (at > 0xffffffff) throw new UsageError(`a shard of ${this.lines.length} passages is ${at} bytes, over the 4 GiB its row offsets can address`, { hint: 'use a smaller --shard-size' });
    offsets[this.lines.length] = at;
    const off = await putContent(this.store, uint32Le(offsets), 'offsets');
    const lineBytes = this.lines.map((l) => Buffer.from(l, 'utf8'));
    const sums = await putContent(this.store, rowSumsOf(lineBytes.length, (i) => lineBytes[i]!), 'rowsums');
    const entry: IngestShard = {
      shard,
      key: stored.key,
      sha256: stored.sha256,
      bytes: stored.bytes,
      passages: this.lines.length,
      firstPassageId: this.first,
      lastPassageId: this.last,
      offsets: { key: off.key, sha256: off.sha256, bytes: off.bytes },
      rowSums: { key: sums.key, sha256: sums.sha256, bytes: sums.bytes },
    };
    if (this.reuse.length > 0 && this.encoderSha256) {
      const sources: ReusePlan['sources'] = [];
      const index = new Map<string, number>();
      const rows: ReusePlan['rows'] = [];
      for (const [row, src] of this.reuse) {
        let i = index.get(src.key);
        if (i === undefined) {
          i = sources.length;
          index.set(src.key, i);
          sources.push({ key: src.key, sha256: src.sha256 });
        }
        rows.push([row, i, src.row]);
      }
      const plan: ReusePlan = { v: 1, encoderSha256: this.encoderSha256, sources, rows };
      const r = await putContent(this.store, JSON.stringify(plan), 'reuse');
      entry.reuse = { key: r.key, sha256: r.sha256, bytes: r.bytes };
    }
    this.shards.push(entry);
    this.lines = [];
    this.reuse = [];
    await this.onShard?.(this.total, this.shards.length);
  }
}
