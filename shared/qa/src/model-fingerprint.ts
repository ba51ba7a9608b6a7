import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { sha256, sha256File } from '@rag/core';
import type { GenerationConfig } from '@rag/config';
import type { QaMode } from './qa-job.schema.js';

/**
 * A content hash of the model directories that answer a run (generator, question encoder).
 * It is part of the QA run id: without it, re-running the same command after retraining or
 * swapping RAG_GENERATOR would "resume" and return the old models' answers.
 */
/**
 * The files a model is loaded from in the Hugging Face / Optimum layout: ONNX graphs and external
 * data, JSON configs and tokenizers, vocabularies and sentencepiece models. Anything else in the
 * directory (a README, notes, an editor's backup, `.DS_Store`) does not change what answers, so it
 * does not change the fingerprint either (a stray file used to make a worker refuse every chunk).
 */
export function isModelFile(name: string): boolean {
  if (name.startsWith('.')) return false;
  return /\.(onnx|onnx_data|onnx\.data|json|model|tiktoken)$/.test(name) || /^(vocab|merges)\.txt$/.test(name);
}

export async function modelFingerprint(dirs: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const dir of dirs) {
    for (const file of await listFiles(dir)) parts.push(`${relative(dir, file)}:${await sha256File(file)}`);
    parts.push('|');
  }
  return sha256(parts.join('\n')).slice(0, 16);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out; // a missing directory fails later, where the models are loaded, with its own error
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, e.name);
    if (e.isDirectory()) { if (!e.name.startsWith('.')) out.push(...(await listFiles(path))); }
    else if (e.isFile() && isModelFile(e.name)) out.push(path);
  }
  return out;
}

/**
 * The model directories that answer a run in this mode: the generator, plus the question encoder when
 * retrieving; retrieve-only runs no generator, so only the question encoder counts.
 */
export function qaModelDirs(gen: Pick<GenerationConfig, 'generatorDir' | 'questionEncoderDir'>, mode: QaMode): string[] {
  if (mode === 'retrieve-only') return [gen.questionEncoderDir];
  return mode === 'no-retrieval' ? [gen.generatorDir] : [gen.generatorDir, gen.questionEncoderDir];
}

/**
 * A generation worker's own fingerprints, computed once per mode (hashing the model files takes
 * a moment): a chunk job queued for other models is refused, never answered with these.
 */
export function workerModelFingerprints(gen: Pick<GenerationConfig, 'generatorDir' | 'questionEncoderDir'>): (mode: QaMode) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (mode) => {
    const dirs = qaModelDirs(gen, mode);
    const key = dirs.join('\0');
    let fp = cache.get(key);
    if (!fp) {
      fp = modelFingerprint(dirs);
      fp.catch(() => cache.delete(key));
      cache.set(key, fp);
    }
    return fp;
  };
}
