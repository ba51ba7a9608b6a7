import { redactUrl, RagError, UsageError } from '@rag/core';
import type { Redis } from 'ioredis';
import { AliasRegistry, type AliasRecord } from '@rag/registry';
import { createRuntime, type Runtime } from '../runtime.js';

/**
 * An alias registry for one command. With REDIS_URL, flips are also cached and announced (workers
 * switch at once); if that Redis is unreachable the flip still lands in storage, where workers
 * find it by polling, and a warning says so.
 */
async function openRegistry(notify: boolean): Promise<{ rt: Runtime; aliases: AliasRegistry; unreachable: boolean; warnUnreachable(): void; close(): Promise<void> }> {
  const rt = createRuntime();
  const url = rt.config.redis.url;
  let redis: Redis | undefined;
  let unreachable = false;
  let reason = '';
  if (notify && url) {
    // BullMQ comes with @rag/queue: load it only when there is a Redis to talk to.
    const { assertRedisReachable, createRedisConnection } = await import('@rag/queue');
    try {
      await assertRedisReachable(url, 3000);
      redis = createRedisConnection(url);
      redis.on('error', () => {});
    } catch (err) {
      unreachable = true;
      reason = RagError.from(err).message;
    }
  }
  const aliases = new AliasRegistry({ store: rt.store, redis, prefix: rt.config.redis.prefix, logger: rt.logger });
  return {
    rt,
    aliases,
    unreachable,
    // Said once: by the command's own result line where it has one, else by this warning.
    warnUnreachable() {
      if (unreachable) process.stderr.write(`rag: warning: ${reason}; the flip is written to storage only and workers see it at their next poll\n`);
    },
    async close() {
      await aliases.close();
      redis?.disconnect();
      await rt.store.close();
    },
  };
}

function line(r: AliasRecord): string {
  return `${r.name} -> ${r.snapshot} (version ${r.version}${r.previous ? `, was ${r.previous}` : ''}, ${r.updatedAt})`;
}

export async function aliasSet(name: string, snapshot: string, o: { expectVersion?: number; json?: boolean }): Promise<void> {
  const { rt, aliases, unreachable, warnUnreachable, close } = await openRegistry(true);
  try {
    const rec = await aliases.set(name, snapshot, { expectVersion: o.expectVersion });
    if (o.json) {
      warnUnreachable();
      process.stdout.write(JSON.stringify(rec, null, 2) + '\n');
    } else {
      const url = rt.config.redis.url;
      const why = unreachable && url ? `cannot reach Redis at ${redactUrl(url)}` : 'no REDIS_URL';
      const via = aliases.notifies ? `announced on ${redactUrl(url!)}` : `storage only (${why}): workers see it at their next poll`;
      process.stdout.write(`${line(rec)}\n${via}\n`);
    }
  } finally {
    await close();
  }
}

export async function aliasRollback(name: string, o: { json?: boolean }): Promise<void> {
  const { aliases, warnUnreachable, close } = await openRegistry(true);
  try {
    warnUnreachable();
    const cur = await aliases.require(name);
    if (!cur.previous) throw new UsageError(`alias ${name} has no previous snapshot (version ${cur.version} is its first)`);
    const rec = await aliases.set(name, cur.previous, { expectVersion: cur.version });
    process.stdout.write(o.json ? JSON.stringify(rec, null, 2) + '\n' : `${line(rec)}\n`);
  } finally {
    await close();
  }
}

export async function aliasList(o: { json?: boolean }): Promise<void> {
  const { rt, aliases, close } = await openRegistry(false);
  try {
    const list = await aliases.list();
    if (o.json) {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    if (list.length === 0) {
      process.stdout.write(`no aliases in ${rt.store.description}\n`);
      return;
    }
    const rows = [['ALIAS', 'SNAPSHOT', 'VERSION', 'PREVIOUS', 'UPDATED']];
    for (const a of list) rows.push([a.name, a.snapshot, String(a.version), a.previous ?? '-', a.updatedAt]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
  } finally {
    await close();
  }
}

export async function aliasShow(name: string, o: { json?: boolean; history?: boolean }): Promise<void> {
  const { aliases, close } = await openRegistry(false);
  try {
    const rec = await aliases.require(name);
    const history = o.history ? await aliases.history(name) : undefined;
    if (o.json) {
      process.stdout.write(JSON.stringify(history ?? rec, null, 2) + '\n');
      return;
    }
    process.stdout.write(`${line(rec)}\n`);
    for (const h of history ?? []) process.stdout.write(`  v${h.version}  ${h.snapshot}  ${h.updatedAt}\n`);
  } finally {
    await close();
  }
}

/** Prints the snapshot id a reference (alias or snapshot id) stands for now: for scripts. */
export async function aliasResolve(ref: string, o: { json?: boolean }): Promise<void> {
  const { aliases, close } = await openRegistry(false);
  try {
    const r = await aliases.resolveSnapshotRef(ref);
    process.stdout.write(o.json ? JSON.stringify(r, null, 2) + '\n' : `${r.snapshotId}\n`);
  } finally {
    await close();
  }
}

/**
 * `alias history NAME`: every version, oldest first, with when it served (from its flip to the next real
 * flip), who flipped it and the gate it passed; candidates that a gate held (or that lost a race with
 * another flip) are listed at their time, so a night that was not promoted shows too.
 */
export async function aliasHistory(name: string, o: { json?: boolean }): Promise<void> {
  const { rt, aliases, close } = await openRegistry(false);
  try {
    await aliases.require(name);
    const { gatesPrefix, gateRecordSchema } = await import('@rag/nightly');
    const versions = await aliases.history(name);
    const real = versions.filter((v) => !v.voided);
    const until = new Map(real.map((v, i) => [v.version, real[i + 1]?.updatedAt]));
    const gates = [];
    for (const key of await rt.store.list(gatesPrefix(name))) {
      try {
        gates.push({ key, ...gateRecordSchema.parse(JSON.parse((await rt.store.get(key)).toString('utf8'))) });
      } catch (err) {
        process.stderr.write(`rag: skipped ${key}: ${(err as Error).message}\n`);
      }
    }
    if (o.json) {
      process.stdout.write(JSON.stringify({
        versions: versions.map((v) => ({ ...v, ...(v.voided ? {} : { servedFrom: v.updatedAt, servedUntil: until.get(v.version) ?? null }) })),
        gates,
      }, null, 2) + '\n');
      return;
    }
    type Row = { at: string; line: string };
    const rows: Row[] = versions.map((v) => ({
      at: v.updatedAt,
      line: v.voided
        ? `v${v.version}  ${v.updatedAt}  (voided: ${v.voided})`
        : `v${v.version}  ${v.snapshot}  served ${v.updatedAt} -> ${until.get(v.version) ?? 'now'}${v.by ? `  by ${v.by}` : ''}${v.gate ? `  gate: ${v.gate.summary}` : ''}`,
    }));
    for (const g of gates) {
      if (g.outcome === 'promoted') continue; // shown on its version
      rows.push({ at: g.at, line: `${g.outcome.padEnd(4)} ${g.candidate}  at ${g.at}  by ${g.by}  gate: ${g.summary}` });
    }
    rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const held = gates.filter((g) => g.outcome !== 'promoted').length;
    process.stdout.write(`${name}: ${real.length} version(s)${held ? `, ${held} candidate(s) not promoted` : ''}\n`);
    for (const r of rows) process.stdout.write(`  ${r.line}\n`);
  } finally {
    await close();
  }
}
