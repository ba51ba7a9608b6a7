import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { sha256, sha256File } from '@rag/core';

/**
 * A content hash of the model directories that answer a run (generator, question encoder).
 * It is part of the QA run id: without it, re-running the same command after retraining or
 * swapping RAG_GENERATOR would "resume" and return the old models' answers.
 */
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
    if (e.isDirectory()) out.push(...(await listFiles(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}
