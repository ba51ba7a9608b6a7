import { sha256 } from '@rag/core';

/**
 * Where aliases live. Storage is the truth: one object per alias, replaced whole on every flip
 * (a single PUT / rename, atomic on both backends). Every version is also kept under
 * `alias-history/`, written create-if-absent first, which is what makes version numbers unique.
 * Redis only caches (`<prefix>:<deployment>:aliases` hash) and notifies (`<prefix>:<deployment>:alias-events`
 * channel). `deployment` is derived from the storage root, so two deployments that share one Redis
 * (and the default prefix) never see each other's cache, locks or messages.
 */
export const ALIASES_PREFIX = 'aliases/';
export const ALIAS_HISTORY_PREFIX = 'alias-history/';

export function aliasKey(name: string): string {
  return `${ALIASES_PREFIX}${name}.json`;
}

/** Zero-padded so that keys sort in version order. */
export function aliasHistoryKey(name: string, version: number): string {
  return `${ALIAS_HISTORY_PREFIX}${name}/${String(version).padStart(12, '0')}.json`;
}

export function aliasNameFromKey(key: string): string | undefined {
  return /^aliases\/([^/]+)\.json$/.exec(key)?.[1];
}

/** A short stable id of a storage root (its description, which never holds credentials). */
export function deploymentId(storeDescription: string): string {
  return sha256(storeDescription).slice(0, 12);
}

/** Redis channel that carries every new alias record as JSON: a hint to re-read storage, never the truth. */
export function aliasEventsChannel(prefix: string, deployment: string): string {
  return `${prefix}:${deployment}:alias-events`;
}

/** Redis hash name → record JSON: a cache of storage, never written with an older version. */
export function aliasCacheKey(prefix: string, deployment: string): string {
  return `${prefix}:${deployment}:aliases`;
}

/** Serialises flips of one alias across processes that share the Redis (an optimisation: the CAS is in storage). */
export function aliasLockKey(prefix: string, deployment: string, name: string): string {
  return `${prefix}:${deployment}:alias-lock:${name}`;
}
