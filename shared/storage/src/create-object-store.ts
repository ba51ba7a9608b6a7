import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorageConfig } from '@rag/config';
import { ConfigError } from '@rag/core';
import { LocalObjectStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore, type S3Credentials } from './s3-store.js';

export type StorageLocation = { kind: 's3'; bucket: string; prefix: string } | { kind: 'local'; dir: string };

/** `s3://bucket/prefix` → S3; `file:///dir` or a plain path → local directory (resolved against cwd). */
export function parseStorageUrl(url: string): StorageLocation {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 's3') {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    if (!bucket) throw new ConfigError(`storage URL "${url}" has no bucket`, { hint: 'use s3://bucket or s3://bucket/prefix' });
    return { kind: 's3', bucket, prefix };
  }
  if (scheme === 'file') return { kind: 'local', dir: fileURLToPath(url) };
  if (scheme !== undefined) {
    throw new ConfigError(`unsupported storage URL scheme "${scheme}://" in RAG_STORAGE`, { hint: 'use a directory path or s3://bucket/prefix' });
  }
  return { kind: 'local', dir: resolve(url) };
}

export interface CreateObjectStoreExtras {
  /** Explicit S3 credentials (tests, dev server); production leaves this unset and uses the AWS chain. */
  credentials?: S3Credentials;
}

export function createObjectStore(cfg: StorageConfig, extras: CreateObjectStoreExtras = {}): ObjectStore {
  const loc = parseStorageUrl(cfg.url);
  if (loc.kind === 'local') return new LocalObjectStore(loc.dir);
  return new S3ObjectStore({
    bucket: loc.bucket,
    prefix: loc.prefix,
    endpoint: cfg.endpoint,
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    multipartMb: cfg.multipartMb,
    credentials: extras.credentials,
  });
}
