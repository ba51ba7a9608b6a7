/**
 * Where aliases live. Storage is the truth: one object per alias, replaced whole on every flip
 * (a single PUT / rename, atomic on both backends). Every version is also kept under
 * `alias-history/`, written create-if-absent first, which is what makes version numbers unique.
 * Redis only caches (`<prefix>:aliases` hash) and notifies (`<prefix>:alias-events` channel).
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

/** Redis channel that carries every new alias record as JSON. */
export function aliasEventsChannel(prefix: string): string {
  return `${prefix}:alias-events`;
}

/** Redis hash name → record JSON: a cache of storage, never written with an older version. */
export function aliasCacheKey(prefix: string): string {
  return `${prefix}:aliases`;
}

/** Serialises flips of one alias across processes that share the Redis. */
export function aliasLockKey(prefix: string, name: string): string {
  return `${prefix}:alias-lock:${name}`;
}
