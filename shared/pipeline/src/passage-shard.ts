import { ShardIntegrityError } from '@rag/core';
import type { Passage } from '@rag/corpus';

/** Parses a shard's passages JSONL (as written by ingest). */
export function parsePassageShard(raw: Uint8Array, key: string): Passage[] {
  const text = Buffer.from(raw).toString('utf8');
  const out: Passage[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '') continue;
    try {
      const p = JSON.parse(line) as Passage;
      out.push(p);
    } catch (err) {
      throw new ShardIntegrityError(`passage shard ${key} line ${lineNo} is not JSON`, { cause: err });
    }
  }
  return out;
}
