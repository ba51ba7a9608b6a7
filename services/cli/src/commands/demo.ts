import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '@rag/core';
import { REPO_ROOT } from '@rag/config';
import { SnapshotRegistry } from '@rag/snapshot';
import { SnapshotRetriever } from '@rag/retrieval';
import { loadEncoder } from '@rag/encoder';
import { createRuntime } from '../runtime.js';
import { snapshotBuild } from './snapshot-build.js';

const DEMO_QUESTIONS = [
  'What is albedo?',
  'Who wrote about mutual aid and anarchist communism?',
  'What are the early signs of autism in children?',
  'Which alphabet letter comes first?',
];

/**
 * The main job on embedded defaults: build a snapshot of the real 2016 enwiki sample with two
 * worker processes (private redis-server, local storage), then answer retrieval queries from it.
 */
export async function demo(o: { source?: string; snapshot: string; workers: number }): Promise<void> {
  const source = resolve(o.source ?? resolve(REPO_ROOT, '../shared/data/wikipedia/enwiki-2016-sample.xml.bz2'));
  const { config, store, logger } = createRuntime();
  const out = (s: string) => process.stdout.write(s + '\n');
  const registry = new SnapshotRegistry(store);
  if (await registry.isPublished(o.snapshot)) {
    out(`snapshot ${o.snapshot} already published in ${store.description}; reusing it`);
  } else {
    if (!existsSync(source)) throw new UsageError(`demo dump ${source} not found`, { hint: 'pass --source PATH to a MediaWiki dump' });
    out(`building snapshot ${o.snapshot} from ${source} with ${o.workers} workers…`);
    const m = await snapshotBuild({ source, snapshot: o.snapshot, workers: o.workers, shardSize: 1000, index: 'flat', words: 100 });
    out(`published ${m.id}: ${m.passages} passages in ${m.shards.length} shards, ${(m.build.durationMs / 1000).toFixed(1)} s ` +
      `(ingest ${(m.build.stagesMs.ingest! / 1000).toFixed(1)} s, encode ${(m.build.stagesMs.encode! / 1000).toFixed(1)} s, index ${(m.build.stagesMs.index! / 1000).toFixed(1)} s summed over workers)`);
  }
  const retriever = await SnapshotRetriever.load(store, o.snapshot, logger);
  const encoder = await loadEncoder({ dir: config.encoder.dir, executionProvider: config.onnx.executionProvider, intraOpThreads: config.onnx.intraOpThreads, batchSize: config.encoder.batchSize });
  try {
    const results = await retriever.search(encoder, DEMO_QUESTIONS, 3);
    DEMO_QUESTIONS.forEach((q, i) => {
      out(`\nQ: ${q}`);
      for (const h of results[i]!) out(`  [${h.score.toFixed(3)}] ${h.title} (${h.id}): ${h.text.slice(0, 110)}…`);
    });
  } finally {
    await encoder.release();
  }
  out(`\nnext: ./rag search --snapshot ${o.snapshot} --query "your question" --json`);
}
