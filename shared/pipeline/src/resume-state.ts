import type { ObjectStore } from '@rag/storage';
import { SnapshotLayout } from '@rag/snapshot';
import { readMarker } from './build-markers.js';
import { ingestMarkerSchema } from './job-payloads.schema.js';

export interface ResumeState {
  /** Ingest finished (its marker is there). */
  ingested: boolean;
  /** Shards to build (not kept from a base), when ingest finished. */
  shards?: number;
  encoded: number;
  indexed: number;
}

/**
 * What an earlier attempt of this build left in storage (its stage markers), for the line a re-run
 * prints before it starts ("resuming: ingest done, 2 of 5 shards encoded, 1 indexed"); undefined when
 * nothing was left. Markers whose inputs no longer match are redone by their stage, so this is what
 * may be skipped, not a promise.
 */
export async function readResumeState(store: ObjectStore, snapshotId: string): Promise<ResumeState | undefined> {
  const layout = new SnapshotLayout(snapshotId);
  const keys = await store.list(layout.buildPrefix).catch(() => [] as string[]);
  if (keys.length === 0) return undefined;
  const name = (k: string) => k.slice(layout.buildPrefix.length);
  const encoded = keys.filter((k) => /^encode-[^-]+\.json$/.test(name(k))).length;
  const indexed = keys.filter((k) => /^index-[^-]+\.json$/.test(name(k))).length;
  const ingest = keys.includes(layout.ingestMarker()) ? await readMarker(store, layout.ingestMarker(), ingestMarkerSchema) : null;
  return { ingested: ingest !== null, ...(ingest ? { shards: ingest.shards.filter((s) => !s.kept).length } : {}), encoded, indexed };
}

export function resumeLine(snapshotId: string, s: ResumeState): string {
  const of = s.shards !== undefined ? ` of ${s.shards}` : '';
  const parts = [s.ingested ? 'ingest done' : 'ingest not finished', `${s.encoded}${of} shard(s) encoded`, `${s.indexed}${of} indexed`];
  return `resuming the build of ${snapshotId} from what the last attempt left: ${parts.join(', ')} (stages whose inputs changed are redone)`;
}
