import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { RagError, UsageError } from '@rag/core';
import { scoreMeaning } from '@rag/encoder';
import { htmlToPng, renderExplain } from '@rag/eval';
import { answerQuestions, lazyQaModels } from '@rag/qa';
import { AliasRegistry } from '@rag/registry';
import { SnapshotRetriever } from '@rag/retrieval';
import { createRuntime } from '../runtime.js';
import { parseMode } from '../qa-runner.js';
import { resolveTarget } from '../as-of.js';

export interface ExplainOptions {
  snapshot: string;
  question: string;
  mode: string;
  k: number;
  beams: number;
  /** Default: explain.html under RAG_HOME (./.rag), so that the working directory stays clean. */
  html?: string;
  /** A path, false for none (--no-png), default explain.png under RAG_HOME. */
  png?: string | false;
  json?: boolean;
  /** With an alias: the snapshot it served at this moment. */
  asOf?: string;
}

/** One question answered in-process, with the per-token document posterior heatmap (HTML and PNG). */
export async function explain(o: ExplainOptions): Promise<void> {
  if (!o.question.trim()) throw new UsageError('--question is empty');
  const mode = parseMode(o.mode);
  if (mode === 'no-retrieval') throw new UsageError('explain shows document posteriors; it needs retrieval', { hint: 'use --mode rag-token (default) or rag-sequence' });
  const rt = createRuntime();
  const { snapshotId } = await new AliasRegistry({ store: rt.store }).resolveSnapshotRef(await resolveTarget(rt, o.snapshot, o.asOf));
  const models = lazyQaModels(rt.config.generation, rt.config.onnx);
  try {
    const [retriever, loaded] = await Promise.all([SnapshotRetriever.load(rt.store, snapshotId, { logger: rt.logger }), models.get()]);
    const [record] = await answerQuestions([{ id: 'q', index: 0, question: o.question }], { models: loaded, retriever, settings: { target: o.snapshot, mode, k: o.k, beams: o.beams }, logger: rt.logger });
    if (record!.error) throw new UsageError(`could not answer: ${record!.error}`);
    const html = o.html ? resolve(o.html) : join(rt.config.home, 'explain.html');
    let png = o.png === false ? undefined : o.png ? resolve(o.png) : join(rt.config.home, 'explain.png');
    await mkdir(dirname(html), { recursive: true });
    await writeFile(html, renderExplain(record!));
    if (png) {
      await mkdir(dirname(png), { recursive: true });
      try {
        await htmlToPng(html, png, { width: 1200, height: 800 });
      } catch (err) {
        // The PNG nobody asked for by name is a nicety: without Chromium (the demo's set-up does not install it)
        // the HTML heatmap is the result. A --png path the user gave is a promise, so that still fails.
        if (o.png || !(err instanceof RagError && err.code === 'CHROMIUM_MISSING')) throw err;
        process.stderr.write(`rag: no PNG written: ${err.oneLine()}\n`);
        png = undefined;
      }
    }
    if (o.json) {
      process.stdout.write(JSON.stringify(record) + '\n');
      return;
    }
    const out = (s: string) => process.stdout.write(s + '\n');
    out(`Q: ${o.question}\nA: ${record!.answer}   (${mode}, snapshot ${record!.snapshot}, ${record!.latency_ms} ms)`);
    out(`  [${scoreMeaning(loaded.questionEncoder)}; |bar|: each answer token's probability of each passage]`);
    record!.docs.forEach((d, j) => {
      const post = record!.doc_posteriors.map((row) => row[j] ?? 0);
      const shade = post.map((p) => ' .:-=+*#%@'[Math.min(9, Math.floor(p * 10))]).join('');
      out(`  ${String(j + 1).padStart(2)}. [${d.score.toFixed(3)}] ${d.title.slice(0, 40).padEnd(40)} |${shade}|`);
    });
    out(`  tokens: ${record!.tokens.join(' ')}`);
    out(`heatmap: ${html}${png ? `, ${png}` : ''}`);
  } finally {
    await models.release();
  }
}
