import { UsageError } from './errors.js';

/** Snapshot ids and alias names: lower-case, no path segments, safe as object-key parts. */
export const SNAPSHOT_ID_RE = /^[a-z0-9][a-z0-9._-]*$/;

export function assertSnapshotId(id: string, what = 'snapshot id'): string {
  if (!SNAPSHOT_ID_RE.test(id) || id.length > 128 || id.includes('..')) {
    throw new UsageError(`invalid ${what} ${JSON.stringify(id)}`, {
      hint: 'use lower-case letters, digits, ".", "_" and "-", starting with a letter or digit (e.g. enwiki-2018)',
    });
  }
  return id;
}
