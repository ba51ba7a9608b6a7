import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory per test, removed afterwards unless RAG_KEEP_TEST_DIRS is set. */
export function tempDir(label: string): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), `rag-${label}-`));
  return {
    path,
    cleanup() {
      if (!process.env.RAG_KEEP_TEST_DIRS) rmSync(path, { recursive: true, force: true });
    },
  };
}
