import { AliasRegistry } from '@rag/registry';
import { DEFAULT_ABANDONED_AFTER_MS, SnapshotRegistry, collectGarbage, diffSnapshots } from '@rag/snapshot';
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
    await removeSnapshot(rt.store, aliases, id);
    process.stdout.write(`removed ${id}; objects it shared stay, run ./rag snapshot gc to free the rest\n`);
  } finally {
    await close();
  }
}

export async function snapshotGc(o: { dryRun?: boolean; grace: number; json?: boolean }): Promise<void> {
  const { store } = createRuntime();
  try {
    const r = await collectGarbage(store, { graceMs: o.grace * 3600 * 1000, abandonedAfterMs: DEFAULT_ABANDONED_AFTER_MS, dryRun: o.dryRun === true });
    if (o.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    const verb = r.dryRun ? 'would delete' : 'deleted';
    process.stdout.write(
      `${verb} ${r.deleted} object(s), ${(r.bytesFreed / 1e6).toFixed(1)} MB; kept ${r.referenced} referenced by ${r.published} snapshot(s)` +
        `${r.unfinishedBuilds.length ? ` and ${r.unfinishedBuilds.length} unfinished build(s)` : ''}` +
        `${r.keptInGrace ? `, ${r.keptInGrace} younger than the grace period` : ''}` +
        `${r.abandonedBuilds.length ? `; abandoned builds cleared: ${r.abandonedBuilds.join(', ')}` : ''}\n`,
    );
  } finally {
    await store.close();
  }
}
