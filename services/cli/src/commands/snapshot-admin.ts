import { AliasRegistry } from '@rag/registry';
import { UsageError } from '@rag/core';
import { CONTENT_REFRESH_AFTER_MS, DEFAULT_ABANDONED_AFTER_MS, SnapshotRegistry, collectGarbage, diffSnapshots } from '@rag/snapshot';
import { removeSnapshot } from '@rag/registry';
import { createRuntime } from '../runtime.js';


function openAliases() {
  const rt = createRuntime();
  const aliases = new AliasRegistry({ store: rt.store, prefix: rt.config.redis.prefix, logger: rt.logger });
  return { rt, aliases, close: async () => { await aliases.close(); await rt.store.close(); } };
}

export async function snapshotDiff(a: string, b: string, o: { json?: boolean }): Promise<void> {
  const { rt, aliases, close } = openAliases();
  try {
    const registry = new SnapshotRegistry(rt.store);
    const ma = await registry.read((await aliases.resolveSnapshotRef(a)).snapshotId);
    const mb = await registry.read((await aliases.resolveSnapshotRef(b)).snapshotId);
    const d = await diffSnapshots(rt.store, ma, mb);
    if (o.json) {
      process.stdout.write(JSON.stringify(d, null, 2) + '\n');
      return;
    }
    const mb1 = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const lines = [
      `${d.a} -> ${d.b}`,
      `pages     +${d.pages.added} added, -${d.pages.removed} removed, ~${d.pages.changed} changed, ${d.pages.unchanged} unchanged`,
      `passages  +${d.passages.added} added, -${d.passages.removed} removed, ~${d.passages.changed} changed, ${d.passages.unchanged} unchanged`,
      `shards    ${d.shards.reused} of ${d.shards.b} in ${d.b} reused from ${d.a} (${d.shards.a} there)`,
      `bytes     ${mb1(d.bytes.shared)} shared; ${mb1(d.bytes.onlyB)} only in ${d.b} (${mb1(d.bytes.b)} in all)`,
    ];
    if (d.examples.added.length) lines.push(`added     ${d.examples.added.join('; ')}${d.pages.added > d.examples.added.length ? '; …' : ''}`);
    if (d.examples.removed.length) lines.push(`removed   ${d.examples.removed.join('; ')}${d.pages.removed > d.examples.removed.length ? '; …' : ''}`);
    if (d.examples.changed.length) lines.push(`changed   ${d.examples.changed.join('; ')}${d.pages.changed > d.examples.changed.length ? '; …' : ''}`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await close();
  }
}

export async function snapshotRm(id: string): Promise<void> {
  const { rt, aliases, close } = openAliases();
  try {
    const r = await removeSnapshot(rt.store, aliases, id);
    process.stdout.write(r.kind === 'unfinished-build'
      ? `removed the unfinished build ${id} (its markers); run ./rag snapshot gc to free its objects\n`
      : `removed ${id}; objects it shared stay, run ./rag snapshot gc to free the rest\n`);
  } finally {
    await close();
  }
}

export async function snapshotGc(o: { dryRun?: boolean; grace: number; json?: boolean }): Promise<void> {
  const graceMs = Math.round(o.grace * 3600 * 1000);
  if (graceMs !== 0 && graceMs < CONTENT_REFRESH_AFTER_MS) {
    throw new UsageError(`--grace ${o.grace} is shorter than ${CONTENT_REFRESH_AFTER_MS / 60_000} minutes, the age below which a build reuses an object without rewriting it`, {
      hint: `use --grace ${CONTENT_REFRESH_AFTER_MS / 3_600_000} or more (hours), or --grace 0 for one pass while no build runs (builds wait for it)`,
    });
  }
  const { store } = createRuntime();
  try {
    const r = await collectGarbage(store, { graceMs, abandonedAfterMs: DEFAULT_ABANDONED_AFTER_MS, dryRun: o.dryRun === true });
    if (o.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    const verb = r.dryRun ? 'would delete' : 'deleted';
    process.stdout.write(
      `${verb} ${r.deleted} object(s), ${mb(r.bytesFreed)}; kept ${r.referenced} referenced by ${r.published} snapshot(s)` +
        `${r.unfinishedBuilds.length ? ` and ${r.unfinishedBuilds.length} unfinished build(s)` : ''}` +
        `${r.keptInGrace ? `, ${r.keptInGrace} unreferenced for less than the grace period (deleted by a later gc)` : ''}` +
        `${r.abandonedBuilds.length ? `; abandoned builds cleared: ${r.abandonedBuilds.join(', ')}` : ''}\n`,
    );
    for (const line of freedLines(r.freed)) process.stdout.write(`  ${line}\n`);
  } finally {
    await store.close();
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** What kinds of leftovers are: the content kinds' extensions, in words. */
const LEFTOVER_KINDS: Record<string, string> = {
  f32: 'embeddings (.f32: encode parts, superseded shards)',
  'range.jsonl': 'multistream ingest ranges (.range.jsonl)',
  jsonl: 'passage shards',
  faiss: 'indexes',
  ivflists: 'inverted lists',
  'quantizer.faiss': 'quantizers',
  'offsets.u32': 'row offsets',
  'pages.jsonl': 'page tables',
  'reuse.json': 'reuse plans',
  'deleted.json': 'deleted-row lists',
};

/**
 * gc's bytes split by why they are free: "0.4 MB (12 objects) held only by removed snapshot enwiki-2016-n2",
 * "9.3 MB (28 objects) left over by unfinished or superseded builds: 8.9 MB embeddings (.f32: …), …".
 */
export function freedLines(f: import('@rag/snapshot').GcFreed): string[] {
  const lines: string[] = [];
  for (const [id, e] of Object.entries(f.removed).sort()) lines.push(`${mb(e.bytes)} (${e.objects} object(s)) held only by removed snapshot ${id}`);
  const l = f.leftovers;
  if (l.objects > 0) {
    const kinds = Object.entries(l.byKind).sort((a, b) => b[1].bytes - a[1].bytes).map(([k, e]) => `${mb(e.bytes)} ${LEFTOVER_KINDS[k] ?? k}`);
    lines.push(`${mb(l.bytes)} (${l.objects} object(s)) left over by unfinished, failed or superseded builds: ${kinds.join(', ')}`);
  }
  return lines;
}
