import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { PathNotAllowedError } from '@rag/core';

/** The directories a worker may read job-named files from (see RAG_SOURCE_ROOTS, RAG_MODEL_ROOTS). */
export interface AllowedRoots {
  sources: readonly string[];
  models: readonly string[];
}

/** Symlinks resolved where the path exists, so a link under a root cannot point outside it. */
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function isUnder(path: string, root: string): boolean {
  const rel = relative(real(root), path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Throws PathNotAllowedError unless `path` (after resolving symlinks) lies under one of `roots`.
 * Job payloads come from Redis; without this, whoever can write a job could make a worker copy
 * any file it can open (/etc/passwd, keys) into object storage.
 */
export function assertAllowedPath(path: string, roots: readonly string[], what: 'source' | 'model directory'): void {
  // An s3:// source is read with the worker's own storage credentials, which bound what it can reach.
  if (what === 'source' && path.startsWith('s3://')) return;
  const target = real(path);
  if (roots.some((root) => isUnder(target, root))) return;
  const env = what === 'source' ? 'RAG_SOURCE_ROOTS' : 'RAG_MODEL_ROOTS';
  throw new PathNotAllowedError(`${what} ${path} is outside the directories this worker reads ${what}s from (${env}=${roots.join(':')})`, {
    hint: `put it under one of those, or add its directory to ${env} (':'-separated) in the worker's environment`,
  });
}
