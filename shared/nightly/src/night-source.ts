import type { ObjectStore } from '@rag/storage';
import { NightSourceError } from './nightly-errors.js';
import type { NightlyConfig } from './nightly-config.js';

/** A night is a UTC calendar day, written yyyymmdd (it names the snapshot and the report). */
export function nightOf(d: Date): string {
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

/** `--date 2026-12-07` or `20261207` → `20261207`; anything else is refused. */
export function parseNight(s: string): string {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s.trim());
  const d = m ? new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`) : undefined;
  if (!m || !d || Number.isNaN(d.getTime()) || nightOf(d) !== `${m[1]}${m[2]}${m[3]}`) {
    throw new NightSourceError(`--date ${s} is not a calendar day`, { retryable: false, hint: 'give YYYY-MM-DD, e.g. 2026-12-07' });
  }
  return `${m[1]}${m[2]}${m[3]}`;
}

/** Fills {yyyymmdd}, {yyyy}, {mm} and {dd} with the night's date. */
export function expandNightPattern(pattern: string, night: string): string {
  return pattern
    .replaceAll('{yyyymmdd}', night)
    .replaceAll('{yyyy}', night.slice(0, 4))
    .replaceAll('{mm}', night.slice(4, 6))
    .replaceAll('{dd}', night.slice(6, 8));
}

/** Opens a directory or an s3:// prefix as an object store (the CLI passes one built from its storage settings). */
export type OpenSourceStore = (dirOrUrl: string) => ObjectStore;

/** Splits a path or s3:// URL into its folder and its last name. */
function splitLast(p: string): [string, string] {
  const i = p.lastIndexOf('/');
  return i < 0 ? ['.', p] : [p.slice(0, i) || '/', p.slice(i + 1)];
}

/**
 * Tonight's dump: the pattern filled with the night's date (it must exist), or the newest object under a
 * prefix (by modification time, then name) whose name matches. Listing skips Wikipedia's multistream
 * index files, which sit beside the dumps they index.
 */
export async function resolveNightSource(source: NightlyConfig['source'], night: string, open: OpenSourceStore): Promise<string> {
  if ('pattern' in source) {
    const path = expandNightPattern(source.pattern, night);
    const [dir, name] = splitLast(path);
    const store = open(dir);
    try {
      if (!(await store.head(name))) {
        throw new NightSourceError(`tonight's dump ${path} does not exist (yet)`, { hint: `the pattern ${source.pattern} for night ${night}; run again once the dump is there, or pass --date for another night` });
      }
    } finally {
      await store.close();
    }
    return path;
  }
  const re = source.match ? new RegExp(source.match) : undefined;
  const store = open(source.newestUnder);
  try {
    let best: { key: string; modifiedMs: number } | undefined;
    for (const key of await store.list('')) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      if (/-index\.txt(\.bz2)?$/.test(name) || (re && !re.test(name))) continue;
      const info = await store.head(key);
      if (!info) continue;
      if (!best || info.modifiedMs > best.modifiedMs || (info.modifiedMs === best.modifiedMs && key > best.key)) best = { key, modifiedMs: info.modifiedMs };
    }
    if (!best) {
      throw new NightSourceError(`no dump under ${source.newestUnder}${re ? ` matches ${source.match}` : ''}`, { hint: 'check source.newestUnder and source.match in the nightly configuration' });
    }
    const base = source.newestUnder.replace(/\/+$/, '');
    return `${base}/${best.key}`;
  } finally {
    await store.close();
  }
}
