import { randomBytes } from 'node:crypto';
import { RagError, StorageError } from '@rag/core';
import type { ObjectStore } from './object-store.js';

/** Where probe objects go: outside snapshots/ and objects/, so nothing else ever reads them. */
export const PROBE_PREFIX = 'probes/';

/**
 * Writes, reads back and deletes one small object, within `timeoutMs`: a command that is about to
 * start workers learns now, in one line, that storage cannot be used (read-only directory, /proc,
 * wrong bucket, endpoint down), instead of from jobs that retry or hang.
 */
export async function assertStorageWritable(store: ObjectStore, timeoutMs = 20_000): Promise<void> {
  const key = `${PROBE_PREFIX}${randomBytes(8).toString('hex')}`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageError(`storage ${store.description} did not answer a test write within ${Math.round(timeoutMs / 1000)} s`, {
      hint: 'check that RAG_STORAGE names a reachable, writable directory or bucket (and AWS_ENDPOINT_URL, if set)',
    })), timeoutMs);
  });
  try {
    await Promise.race([(async () => {
      await store.put(key, 'probe\n');
      await store.get(key);
      await store.delete(key);
    })(), timeout]);
  } catch (err) {
    const e = RagError.from(err);
    throw new StorageError(`cannot use storage ${store.description}: ${e.message}`, {
      cause: err,
      hint: e.hint ?? 'check that RAG_STORAGE names a writable directory or bucket this process can reach',
    });
  } finally {
    clearTimeout(timer);
  }
}
