import { UsageError } from '@rag/core';
import { AliasRegistry } from '@rag/registry';
import type { Runtime } from './runtime.js';

/** `--as-of 2026-12-07T03:00:00Z` (any ISO time; a bare date is midnight UTC). */
export function parseAsOf(v: string): Date {
  const t = /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v;
  const d = new Date(t);
  if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(v)) throw new UsageError(`--as-of ${v} is not an ISO time`, { hint: 'e.g. --as-of 2026-12-07T03:00:00Z, or --as-of 2026-12-07 (midnight UTC)' });
  return d;
}

/**
 * The snapshot a command runs on: `ref` as given, or, with `--as-of`, the snapshot the alias `ref` served
 * at that moment (pinned by id, so a flip during the run changes nothing). Says on stderr what it resolved.
 */
export async function resolveTarget(rt: Runtime, ref: string, asOf: string | undefined, label = ''): Promise<string> {
  if (asOf === undefined) return ref;
  const aliases = new AliasRegistry({ store: rt.store, prefix: rt.config.redis.prefix, logger: rt.logger });
  try {
    const r = await aliases.resolveAsOf(ref, parseAsOf(asOf));
    process.stderr.write(`rag: ${label}${ref} as of ${r.asOf} = ${r.snapshotId} (version ${r.alias.version}, served from ${r.servedFrom} ${r.servedUntil ? `until ${r.servedUntil}` : 'until now'})\n`);
    return r.snapshotId;
  } finally {
    await aliases.close();
  }
}
