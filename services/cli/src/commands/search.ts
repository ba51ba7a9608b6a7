import { UsageError } from '@rag/core';
import { loadEncoder, scoreMeaning } from '@rag/encoder';
import { SnapshotRegistry } from '@rag/snapshot';
import { AliasRegistry } from '@rag/registry';
import { SnapshotRetriever } from '@rag/retrieval';
import { createRuntime } from '../runtime.js';
import { resolveTarget } from '../as-of.js';

export async function search(o: { snapshot: string; query: string; k: number; json?: boolean; encoder?: string; asOf?: string }): Promise<void> {
  const rt = createRuntime({ encoder: o.encoder });
  const { config, logger, store } = rt;
  if (!o.query.trim()) throw new UsageError('--query is empty');
  if (!Number.isInteger(o.k) || o.k < 1) throw new UsageError('--k must be a positive integer');
  // An alias or a snapshot id, as qa/ab/explain take; a clear error before loading models.
  const aliases = new AliasRegistry({ store, prefix: config.redis.prefix, logger });
  const target = await resolveTarget(rt, o.snapshot, o.asOf);
  const snapshotId = await aliases.resolveSnapshotRef(target).then((r) => r.snapshotId).finally(() => aliases.close());
  await new SnapshotRegistry(store).read(snapshotId);
  const [retriever, encoder] = await Promise.all([
    SnapshotRetriever.load(store, snapshotId, { logger }),
    loadEncoder({ dir: config.encoder.dir, executionProvider: config.onnx.executionProvider, intraOpThreads: config.onnx.intraOpThreads, batchSize: config.encoder.batchSize }),
  ]);
  try {
    retriever.assertCompatible(encoder, o.encoder !== undefined);
    const [hits = []] = await retriever.search(encoder, [o.query], o.k);
    if (o.json) {
      process.stdout.write(JSON.stringify(hits.map((h) => ({ id: h.id, title: h.title, text: h.text, score: h.score })), null, 2) + '\n');
      return;
    }
    process.stdout.write(`${scoreMeaning(encoder)}\n`);
    hits.forEach((h, i) => {
      process.stdout.write(`${i + 1}. [${h.score.toFixed(4)}] ${h.title} (${h.id})\n   ${h.text.slice(0, 200)}${h.text.length > 200 ? '…' : ''}\n`);
    });
  } finally {
    await encoder.release();
  }
}
