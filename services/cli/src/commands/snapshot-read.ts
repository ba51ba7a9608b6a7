import { SnapshotRegistry, type SnapshotManifest } from '@rag/snapshot';
import { SnapshotRetriever, lookupPassages } from '@rag/retrieval';
import { AliasRegistry } from '@rag/registry';
import { UsageError } from '@rag/core';
import { createRuntime } from '../runtime.js';

export async function snapshotList(o: { json?: boolean }): Promise<void> {
  const { store } = createRuntime();
  const manifests = await new SnapshotRegistry(store).list();
  if (o.json) {
    process.stdout.write(JSON.stringify(manifests.map(summary), null, 2) + '\n');
    return;
  }
  if (manifests.length === 0) {
    process.stdout.write(`no published snapshots in ${store.description}\n`);
    return;
  }
  const rows = [['ID', 'PASSAGES', 'SHARDS', 'DIM', 'INDEX', 'ENCODER', 'CREATED']];
  for (const m of manifests) rows.push([m.id, String(m.passages), String(m.shards.length), String(m.dim), m.index.kind, m.encoder.name, m.createdAt]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
}

function summary(m: SnapshotManifest) {
  return { id: m.id, status: m.status, passages: m.passages, vectors: m.vectors, dim: m.dim, shards: m.shards.length, index: m.index.kind, encoder: m.encoder.name, createdAt: m.createdAt };
}

export async function snapshotShow(id: string, o: { json?: boolean }): Promise<void> {
  const { store } = createRuntime();
  const m = await new SnapshotRegistry(store).read(id);
  if (o.json) {
    process.stdout.write(JSON.stringify(m, null, 2) + '\n');
    return;
  }
  const lines = [
    `snapshot  ${m.id} (${m.status})`,
    `created   ${m.createdAt}`,
    `passages  ${m.passages} in ${m.shards.length} shard(s) of up to ${m.shardSize}`,
    `vectors   ${m.vectors} x ${m.dim}, index ${m.index.kind} (${m.index.metric})${shardKinds(m)}`,
    `encoder   ${m.encoder.name} sha256:${m.encoder.sha256.slice(0, 16)}…`,
    `source    ${m.source.path} (${m.source.format}, sha256:${m.source.sha256.slice(0, 16)}…)`,
    `build     ${(m.build.durationMs / 1000).toFixed(1)} s`,
  ];
  const work = workSummary(m);
  if (work) lines.push(`work      ${work}`);
  if (m.base) lines.push(`base      ${baseSummary(m.base)}`);
  const q = m.quantizer;
  if (q) {
    const origin = q.reusedFrom ? `reused from ${q.reusedFrom}` : `trained on ${q.trainedOn} vectors in ${((q.trainMs ?? 0) / 1000).toFixed(1)} s`;
    lines.push(`quantizer IVF${q.nlist},PQ${q.pqM}x${q.pqBits} (${origin}), nprobe ${q.nprobe}, re-rank ${q.rerank}; recall@10 ${q.fit.recall10.toFixed(3)} against exact on ${q.fit.corpus} sampled vectors`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

export async function snapshotPassages(id: string, o: { limit?: number; offset?: number }): Promise<void> {
  const { store } = createRuntime();
  const m = await new SnapshotRegistry(store).read(id);
  const offset = o.offset ?? 0;
  const limit = o.limit ?? Infinity;
  if (offset < 0 || limit < 0) throw new UsageError('--offset and --limit must be non-negative');
  let i = 0;
  let written = 0;
  // Skip whole shards before the offset without downloading them.
  const shards = m.shards.filter((s) => {
    const live = s.passages - (s.deleted?.count ?? 0);
    const keep = i + live > offset;
    if (!keep) i += live;
    return keep;
  });
  for await (const p of SnapshotRetriever.readPassages(store, { ...m, shards })) {
    if (i++ < offset) continue;
    if (written >= limit) break;
    if (!process.stdout.write(JSON.stringify({ id: p.id, title: p.title, text: p.text }) + '\n')) {
      await new Promise((r) => process.stdout.once('drain', r));
    }
    written++;
  }
}

/** "enwiki-2016: 4233 passages reused, 49 encoded, 3 shard(s) reused, 1 built" (show, and the build's last lines). */
export function baseSummary(b: NonNullable<SnapshotManifest['base']>): string {
  return `${b.id}: ${b.passagesReused} passages reused, ${b.passagesEncoded} encoded, ${b.shardsReused} shard(s) reused, ${b.shardsBuilt} built`;
}

/**
 * What the build did and what it found done by earlier builds of the same inputs: "0 passages
 * encoded; found done by enwiki-2016-sample: embeddings of 4424 passages (3 shards), 3 shard indexes".
 */
export function workSummary(m: SnapshotManifest): string | undefined {
  const w = m.build.work;
  if (!w) return undefined;
  const found: string[] = [];
  if (w.shardsEncodeFound > 0) found.push(`embeddings of ${w.passagesFound} passages (${w.shardsEncodeFound} shard${w.shardsEncodeFound === 1 ? '' : 's'})`);
  if (w.shardsIndexFound > 0) found.push(`${w.shardsIndexFound} shard index${w.shardsIndexFound === 1 ? '' : 'es'}`);
  if (w.trainFound) found.push('the trained quantizer');
  const encoded = `${w.passagesEncoded} passage${w.passagesEncoded === 1 ? '' : 's'} encoded`;
  return found.length ? `${encoded}; found done by ${w.foundIn.join(', ')}: ${found.join(', ')}` : encoded;
}

/** `snapshot passage SNAPSHOT ID...`: each passage as a JSON line {id,title,text}, in the order asked. */
export async function snapshotPassage(ref: string, ids: string[]): Promise<void> {
  const { store } = createRuntime();
  const { snapshotId } = await new AliasRegistry({ store }).resolveSnapshotRef(ref);
  const m = await new SnapshotRegistry(store).read(snapshotId);
  const found = await lookupPassages(store, m, ids);
  const missing = ids.filter((id) => !found.has(id));
  for (const id of ids) {
    const p = found.get(id);
    if (p) process.stdout.write(JSON.stringify({ id: p.id, title: p.title, text: p.text }) + '\n');
  }
  if (missing.length) {
    throw new UsageError(`snapshot ${snapshotId} has no passage ${missing.join(', ')}`, {
      hint: 'passage ids are PAGEID-N as qa run, search and snapshot passages print them (DPR rows: the row id)',
    });
  }
}

/** What the shards were built as when it differs from the request (auto, or fallbacks): ": 40 ivfpq, 1 flat". */
function shardKinds(m: SnapshotManifest): string {
  const n = new Map<string, number>();
  for (const s of m.shards) n.set(s.index?.kind ?? m.index.kind, (n.get(s.index?.kind ?? m.index.kind) ?? 0) + 1);
  if (n.size === 1 && n.has(m.index.kind)) return '';
  return ': ' + [...n].map(([k, c]) => `${c} ${k}`).join(', ');
}
