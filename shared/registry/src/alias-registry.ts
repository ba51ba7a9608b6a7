import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Redis } from 'ioredis';
import { ObjectNotFoundError, ShardIntegrityError, SnapshotNotReadyError, UsageError, assertSnapshotId, type Logger } from '@rag/core';
import { SnapshotRegistry, holdPublished, holdsPrefix } from '@rag/snapshot';
import type { ObjectStore } from '@rag/storage';
import { AliasConflictError, AliasNotFoundError, UnknownSnapshotRefError } from './alias-errors.js';
import {
  ALIASES_PREFIX, ALIAS_HISTORY_PREFIX, aliasCacheKey, aliasEventsChannel, aliasHistoryKey, aliasKey, aliasLockKey, aliasNameFromKey, deploymentId,
} from './alias-layout.js';
import { ALIAS_SCHEMA_VERSION, aliasRecordSchema, type AliasRecord } from './alias-record.schema.js';

export interface AliasRegistryOptions {
  store: ObjectStore;
  /**
   * A command connection (not in subscriber mode). Absent: storage only — no cache, no
   * cross-process notifications (followers still see flips by polling storage).
   */
  redis?: Redis;
  /** Redis key prefix (RAG_QUEUE_PREFIX). @defaultValue "rag" */
  prefix?: string;
  logger?: Logger;
  /** How long the flip lock of an alias lives without renewal (it is renewed while held). @defaultValue 10000 */
  lockTtlMs?: number;
}

export interface AliasSetOptions {
  /** Compare-and-set: flip only if the alias is at this version now (0 = must not exist yet). */
  expectVersion?: number;
  /** Recorded in the version: who flipped (default `user@host`). */
  by?: string;
  /** Recorded in the version: the quality gate the flip passed. */
  gate?: AliasRecord['gate'];
}

/** What an alias served at a moment (`--as-of`): the version, and from when until when it served. */
export interface AliasAsOf extends ResolvedSnapshotRef {
  asOf: string;
  alias: AliasRecord;
  /** When this version was set, and when the next real version replaced it (absent: still served). */
  servedFrom: string;
  servedUntil?: string;
}

/** What a snapshot reference (alias name or snapshot id) stands for right now. */
export interface ResolvedSnapshotRef {
  ref: string;
  snapshotId: string;
  kind: 'alias' | 'snapshot';
  /** The alias record when `kind` is "alias". */
  alias?: AliasRecord;
}

export type AliasEventHandler = (record: AliasRecord) => void;

export interface AliasSubscriptionOptions {
  /** Called when the subscriber connection is back after a drop: messages may have been missed. */
  onReconnect?: () => void;
}

export interface AliasSubscription {
  close(): Promise<void>;
}

// Writes the record into the cache only if it is newer than what is there, then publishes it;
// one script, so a slow writer can never put an older version back or announce it.
const CACHE_AND_PUBLISH = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok, dec = pcall(cjson.decode, cur)
  if ok and type(dec) == 'table' and tonumber(dec.version) and tonumber(dec.version) >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[2]) end
return 1`;

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const RENEW_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/** `user@host`: who flipped an alias by hand, recorded in the version (and in gate decisions). */
export function defaultActor(): string {
  let user = 'unknown';
  try { user = userInfo().username; } catch { /* no passwd entry (containers): keep unknown */ }
  return `${user}@${hostname()}`;
}

/** How many version numbers a flip tries when writers without the shared lock race for them. */
const MAX_VERSION_CLAIMS = 20;

/**
 * Named pointers to published snapshots ("prod" → "enwiki-2018"). Storage holds the truth;
 * Redis, when given, caches the records and tells followers about flips at once.
 */
export class AliasRegistry {
  readonly store: ObjectStore;
  readonly snapshots: SnapshotRegistry;
  readonly prefix: string;
  /** Scopes the Redis keys and channel to this storage root (see alias-layout.ts). */
  readonly deployment: string;
  readonly channel: string;
  private readonly redis?: Redis;
  private readonly logger?: Logger;
  private readonly lockTtlMs: number;
  /** Flips of one alias in this process run one after another. */
  private readonly localLocks = new Map<string, Promise<unknown>>();
  /** Without Redis, subscribers of this instance still hear this instance's flips. */
  private readonly localHandlers = new Set<AliasEventHandler>();
  private readonly subscribers = new Set<Redis>();

  constructor(opts: AliasRegistryOptions) {
    this.store = opts.store;
    this.snapshots = new SnapshotRegistry(opts.store);
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? 'rag';
    this.deployment = deploymentId(opts.store.description);
    this.channel = aliasEventsChannel(this.prefix, this.deployment);
    this.logger = opts.logger;
    this.lockTtlMs = opts.lockTtlMs ?? 10_000;
  }

  /** True when flips are announced over Redis pub/sub. */
  get notifies(): boolean {
    return this.redis !== undefined;
  }

  /**
   * The alias as storage has it now; undefined if it was never set. The pointer object is written
   * after the history entry that claims a version, so it can lag (a writer died between the two
   * writes, or a slow writer put an older version back): the newest history entry wins.
   */
  async get(name: string): Promise<AliasRecord | undefined> {
    return (await this.head(name)).live;
  }

  /**
   * `latest`: the newest version, also a voided one (what the next flip must follow); `live`: the
   * newest version that was not voided (what the alias points at).
   */
  private async head(name: string): Promise<{ latest?: AliasRecord; live?: AliasRecord }> {
    assertSnapshotId(name, 'alias name');
    let rec = await this.readRecord(aliasKey(name));
    let live = rec;
    for (;;) {
      const next = await this.readRecord(aliasHistoryKey(name, (rec?.version ?? 0) + 1));
      if (!next) break;
      rec = next;
      if (!next.voided) live = next;
    }
    // The pointer is only ever written by a flip, never voided: `live` is the newest real version.
    return { latest: rec, live };
  }

  /**
   * Claims version `version` as void, unless a flip claimed it first: `snapshot rm` fences a flip to
   * the snapshot it removes that had written its hold but not yet its version. Returns the record
   * that holds the version now (the void one, or the flip's).
   */
  async voidVersion(name: string, version: number, reason: string): Promise<AliasRecord> {
    const key = aliasHistoryKey(name, version);
    const before = version > 1 ? await this.readRecord(aliasHistoryKey(name, version - 1)) : undefined;
    const rec: AliasRecord = {
      schema: ALIAS_SCHEMA_VERSION, name, snapshot: before?.snapshot ?? name, version, updatedAt: new Date().toISOString(),
      writer: randomUUID(), voided: reason,
    };
    if (!before) {
      // No earlier version to stand for: the void record names no real snapshot.
      rec.snapshot = `voided-${version}`;
    }
    if (await this.store.putIfAbsent(key, JSON.stringify(rec, null, 2) + '\n')) return rec;
    const stored = await this.readRecord(key);
    if (!stored) throw new AliasConflictError(`alias ${name} version ${version} vanished while being voided`);
    return stored;
  }

  private async readRecord(key: string): Promise<AliasRecord | undefined> {
    // Bytes that are not whole JSON may be a PUT still in flight on an S3-API server that serves
    // objects while writing them (s3rver, which `rag dev s3` runs, does): read again a few times
    // before calling the record corrupt. AWS S3, MinIO and local storage never show partial objects.
    for (let attempt = 0; ; attempt++) {
      let bytes: Buffer;
      try {
        bytes = await this.store.get(key);
      } catch (err) {
        if (err instanceof ObjectNotFoundError) return undefined;
        throw err;
      }
      if (attempt >= PARTIAL_READ_RETRIES.length || isWholeJson(bytes)) return parseAliasRecord(bytes, key);
      await new Promise((r) => setTimeout(r, PARTIAL_READ_RETRIES[attempt]));
    }
  }

  /** Like get(), but a missing alias is an AliasNotFoundError that lists the known ones. */
  async require(name: string): Promise<AliasRecord> {
    const rec = await this.get(name);
    if (rec) return rec;
    const known = (await this.list()).map((a) => a.name);
    throw new AliasNotFoundError(`alias ${name} does not exist in ${this.store.description}`, {
      hint: known.length ? `known aliases: ${known.join(', ')}; create one with: ./rag alias set ${name} SNAPSHOT` : `create it with: ./rag alias set ${name} SNAPSHOT`,
    });
  }

  /** From the Redis cache when there is one (cheap, may lag a flip by one message), else storage. */
  async getCached(name: string): Promise<AliasRecord | undefined> {
    assertSnapshotId(name, 'alias name');
    if (this.redis) {
      try {
        const json = await this.redis.hget(aliasCacheKey(this.prefix, this.deployment), name);
        if (json) return parseAliasRecord(Buffer.from(json), `${aliasCacheKey(this.prefix, this.deployment)}[${name}]`);
      } catch (err) {
        this.logger?.warn({ event: 'alias.cache-read-failed', alias: name, err: (err as Error).message }, 'alias cache unreadable; reading storage');
      }
    }
    return this.get(name);
  }

  /**
   * Every alias in storage, sorted by name: those with a pointer object and those whose first
   * version is claimed but whose pointer was never written (a writer died between the two).
   */
  async list(): Promise<AliasRecord[]> {
    const names = new Set<string>();
    for (const key of await this.store.list(ALIASES_PREFIX)) {
      const name = aliasNameFromKey(key);
      if (name) names.add(name);
    }
    for (const key of await this.store.list(ALIAS_HISTORY_PREFIX)) {
      const name = /^alias-history\/([^/]+)\//.exec(key)?.[1];
      if (name) names.add(name);
    }
    const out: AliasRecord[] = [];
    for (const name of names) {
      const rec = await this.get(name);
      if (rec) out.push(rec);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * The snapshot `name` served at `asOf` (`--as-of`): the newest real (not voided) version set at or
   * before that moment. Refused for a snapshot id, a moment before the alias existed, or a snapshot
   * removed since (retention), each with what to do instead.
   */
  async resolveAsOf(name: string, asOf: Date): Promise<AliasAsOf> {
    if (Number.isNaN(asOf.getTime())) throw new UsageError('--as-of is not a date', { hint: 'give an ISO time, e.g. 2026-12-07T03:00:00Z or 2026-12-07' });
    if (!(await this.get(name))) {
      if (await this.snapshots.isPublished(name)) {
        throw new UsageError(`--as-of needs an alias; ${name} is a snapshot id, which always means the same snapshot`, { hint: `drop --as-of, or name the alias that served it (./rag alias list)` });
      }
      await this.require(name); // the alias-not-found error, listing the known ones
    }
    const real = (await this.history(name)).filter((r) => !r.voided);
    const t = asOf.getTime();
    let at = -1;
    real.forEach((r, i) => { if (Date.parse(r.updatedAt) <= t) at = i; });
    if (at < 0) {
      throw new UsageError(`alias ${name} did not exist yet at ${asOf.toISOString()}; its first version was set at ${real[0]?.updatedAt}`, {
        hint: `./rag alias history ${name} lists when each snapshot served`,
      });
    }
    const rec = real[at]!;
    if (!(await this.snapshots.isPublished(rec.snapshot))) {
      throw new SnapshotNotReadyError(`alias ${name} served ${rec.snapshot} at ${asOf.toISOString()} (version ${rec.version}), but ${rec.snapshot} has been removed since`, {
        hint: `retention or ./rag snapshot rm removed it; ./rag alias history ${name} shows which snapshots are still published`,
      });
    }
    return {
      ref: name, snapshotId: rec.snapshot, kind: 'alias', alias: rec, asOf: asOf.toISOString(),
      servedFrom: rec.updatedAt, ...(real[at + 1] ? { servedUntil: real[at + 1]!.updatedAt } : {}),
    };
  }

  /** Every version this alias ever had, oldest first. */
  async history(name: string): Promise<AliasRecord[]> {
    assertSnapshotId(name, 'alias name');
    const out: AliasRecord[] = [];
    for (const key of await this.store.list(`${ALIAS_HISTORY_PREFIX}${name}/`)) {
      out.push(parseAliasRecord(await this.store.get(key), key));
    }
    return out.sort((a, b) => a.version - b.version);
  }

  /**
   * Points `name` at a published snapshot: one object write (the flip), then the cache and a
   * pub/sub message. Every call is a new version, also when the target does not change.
   */
  async set(name: string, snapshotId: string, opts: AliasSetOptions = {}): Promise<AliasRecord> {
    assertSnapshotId(name, 'alias name');
    assertSnapshotId(snapshotId);
    if (await this.snapshots.isPublished(name)) {
      throw new UsageError(`alias name ${name} is also a snapshot id`, {
        hint: 'an alias would hide the snapshot of the same name; choose another alias name (e.g. prod, staging)',
      });
    }
    if (!(await this.snapshots.isPublished(snapshotId))) throw await this.notPublished(name, snapshotId);
    // The compare-and-set is the create-if-absent of history entry N+1: it holds without the Redis
    // lock (two writers racing --expect-version: one creates the entry, the other gets a conflict).
    // The lock only saves a crowd of writers from retrying against each other. Before claiming, the
    // flip holds the target and checks it is not being removed (snapshot-holds.ts): a removal that
    // started first makes the flip fail; one that starts later sees the hold.
    const record = await this.withLock(name, async () => {
      for (let claim = 0; ; claim++) {
        const { latest: current, live } = await this.head(name);
        const have = current?.version ?? 0;
        if (opts.expectVersion !== undefined && have !== opts.expectVersion) throw conflict(name, have, opts.expectVersion);
        const rec: AliasRecord = {
          schema: ALIAS_SCHEMA_VERSION,
          name,
          snapshot: snapshotId,
          version: have + 1,
          updatedAt: new Date().toISOString(),
          ...(live ? { previous: live.snapshot } : {}),
          writer: randomUUID(),
          by: opts.by ?? defaultActor(),
          ...(opts.gate ? { gate: opts.gate } : {}),
        };
        const hold = await this.holdTarget(name, rec);
        const body = JSON.stringify(rec, null, 2) + '\n';
        if (await this.claim(name, rec, body)) {
          await this.store.put(aliasKey(name), body);
          await this.repairPointer(name, rec);
          await this.dropStaleHolds(name, live?.snapshot, snapshotId, rec.version);
          return rec;
        }
        await this.store.delete(hold).catch(() => undefined);
        if (opts.expectVersion !== undefined) throw conflict(name, rec.version, opts.expectVersion);
        if (claim >= MAX_VERSION_CLAIMS) {
          throw new AliasConflictError(`could not claim a new version of alias ${name} after ${MAX_VERSION_CLAIMS} tries`, {
            hint: 'another writer is flipping it at the same time; retry',
          });
        }
      }
    });
    this.logger?.info({ event: 'alias.set', alias: name, snapshot: snapshotId, version: record.version, previous: record.previous }, 'alias flipped');
    await this.announce(record);
    return record;
  }

  /** Holds the flip's target (see snapshot-holds.ts); refuses a target that is being removed. */
  private async holdTarget(name: string, rec: AliasRecord): Promise<string> {
    try {
      return await holdPublished(this.store, rec.snapshot, { v: 1, kind: 'alias', alias: name, version: rec.version, at: rec.updatedAt }, `cannot point alias ${name} at ${rec.snapshot}`);
    } catch (err) {
      if (err instanceof SnapshotNotReadyError) throw await this.notPublished(name, rec.snapshot);
      throw err;
    }
  }

  /** The alias's holds on what it pointed at before, and older ones on its target: the flip made them stale. */
  private async dropStaleHolds(name: string, previous: string | undefined, target: string, version: number): Promise<void> {
    for (const id of new Set([previous, target])) {
      if (!id) continue;
      for (const key of await this.store.list(holdsPrefix(id)).catch(() => [] as string[])) {
        const m = /\/alias\.([^/]+)\.(\d+)\.json$/.exec(key);
        if (m && m[1] === name && Number(m[2]) < version) await this.store.delete(key).catch(() => undefined);
      }
    }
  }

  private async notPublished(name: string, snapshotId: string): Promise<SnapshotNotReadyError> {
    const known = await this.snapshots.listIds();
    return new SnapshotNotReadyError(`cannot point alias ${name} at ${snapshotId}: snapshot ${snapshotId} is not published in ${this.store.description}`, {
      hint: known.length
        ? `published snapshots: ${abbreviate(known)}; build it first with ./rag snapshot build --snapshot ${snapshotId}`
        : `no snapshot is published yet; build one with ./rag snapshot build --source PATH --snapshot ${snapshotId}`,
    });
  }

  /**
   * Creates history entry `rec.version`; true if this writer owns it. Atomic on every store this
   * runs on: S3 stores refuse to work on servers that ignore If-None-Match (see S3ObjectStore).
   */
  private async claim(name: string, rec: AliasRecord, body: string): Promise<boolean> {
    return this.store.putIfAbsent(aliasHistoryKey(name, rec.version), body);
  }

  /** A slower writer may have put an older version into the pointer after ours: put the newest back. */
  private async repairPointer(name: string, mine: AliasRecord): Promise<void> {
    const pointer = await this.readRecord(aliasKey(name));
    if (pointer && pointer.version >= mine.version) return;
    const latest = await this.get(name);
    if (latest && latest.version > (pointer?.version ?? 0)) await this.store.put(aliasKey(name), JSON.stringify(latest, null, 2) + '\n');
  }

  /**
   * The snapshot a reference means now: an alias of that name wins, else a published snapshot id;
   * anything else is an error that lists what exists.
   */
  async resolveSnapshotRef(ref: string): Promise<ResolvedSnapshotRef> {
    assertSnapshotId(ref, 'snapshot or alias name');
    const alias = await this.get(ref);
    if (alias) {
      if (!(await this.snapshots.isPublished(alias.snapshot))) {
        throw new SnapshotNotReadyError(`alias ${ref} points at ${alias.snapshot}, which is no longer published in ${this.store.description}`, {
          hint: `point it at a published snapshot: ./rag alias set ${ref} SNAPSHOT`,
        });
      }
      return { ref, snapshotId: alias.snapshot, kind: 'alias', alias };
    }
    if (await this.snapshots.isPublished(ref)) return { ref, snapshotId: ref, kind: 'snapshot' };
    const [aliases, ids] = await Promise.all([this.list(), this.snapshots.listIds()]);
    const parts = [
      aliases.length ? `aliases: ${abbreviate(aliases.map((a) => `${a.name}->${a.snapshot}`))}` : 'no aliases',
      ids.length ? `snapshots: ${abbreviate(ids)}` : 'no published snapshots',
    ];
    throw new UnknownSnapshotRefError(`no alias or published snapshot named ${ref} in ${this.store.description}`, { hint: parts.join('; ') });
  }

  /**
   * Hears every flip, from any process sharing the Redis (this one included). Without Redis only
   * this instance's own flips are heard. Resolves once the subscription is live.
   */
  async subscribe(handler: AliasEventHandler, opts: AliasSubscriptionOptions = {}): Promise<AliasSubscription> {
    if (!this.redis) {
      this.localHandlers.add(handler);
      return { close: async () => { this.localHandlers.delete(handler); } };
    }
    const sub = this.redis.duplicate();
    this.subscribers.add(sub);
    sub.on('error', (err) => this.logger?.debug({ event: 'alias.subscriber-error', err: err.message }, 'alias subscriber connection error'));
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let rec: AliasRecord;
      try {
        rec = parseAliasRecord(Buffer.from(message), this.channel);
      } catch (err) {
        this.logger?.warn({ event: 'alias.bad-message', err: (err as Error).message }, 'ignoring malformed alias event');
        return;
      }
      handler(rec);
    });
    let first = true;
    sub.on('ready', () => {
      if (first) { first = false; return; }
      // ioredis re-subscribes by itself; whatever was published in between is lost.
      opts.onReconnect?.();
    });
    await sub.subscribe(this.channel);
    return {
      close: async () => {
        if (!this.subscribers.delete(sub)) return;
        sub.disconnect();
      },
    };
  }

  /** Refills the Redis cache from storage (after a Redis restart); returns how many aliases were written. */
  async syncCache(): Promise<number> {
    if (!this.redis) return 0;
    let n = 0;
    for (const rec of await this.list()) {
      n += Number(await this.redis.eval(CACHE_AND_PUBLISH, 1, aliasCacheKey(this.prefix, this.deployment), rec.name, JSON.stringify(rec), rec.version, ''));
    }
    return n;
  }

  /** Closes the subscriber connections this instance opened; the store and `redis` belong to the caller. */
  async close(): Promise<void> {
    for (const sub of this.subscribers) sub.disconnect();
    this.subscribers.clear();
    this.localHandlers.clear();
  }

  private async announce(rec: AliasRecord): Promise<void> {
    if (!this.redis) {
      for (const h of this.localHandlers) {
        try {
          h(rec);
        } catch (err) {
          this.logger?.warn({ event: 'alias.handler-failed', err: (err as Error).message }, 'alias event handler threw');
        }
      }
      return;
    }
    try {
      await this.redis.eval(CACHE_AND_PUBLISH, 1, aliasCacheKey(this.prefix, this.deployment), rec.name, JSON.stringify(rec), rec.version, this.channel);
    } catch (err) {
      // Storage already has the flip; followers find it by polling.
      this.logger?.warn({ event: 'alias.announce-failed', alias: rec.name, err: (err as Error).message }, 'alias flipped in storage but not announced over Redis');
    }
  }

  private async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.localLocks.get(name) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.withRedisLock(name, fn));
    this.localLocks.set(name, run);
    try {
      return await run;
    } finally {
      if (this.localLocks.get(name) === run) this.localLocks.delete(name);
    }
  }

  private async withRedisLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const redis = this.redis;
    if (!redis) return fn();
    const key = aliasLockKey(this.prefix, this.deployment, name);
    const token = randomUUID();
    const deadline = Date.now() + this.lockTtlMs * 2;
    for (;;) {
      if ((await redis.set(key, token, 'PX', this.lockTtlMs, 'NX')) === 'OK') break;
      if (Date.now() > deadline) {
        throw new AliasConflictError(`alias ${name} is being flipped by another process (lock ${key} held)`, {
          hint: `retry; a crashed writer's lock expires after ${this.lockTtlMs} ms`,
        });
      }
      await new Promise((r) => setTimeout(r, 25 + Math.random() * 50));
    }
    // Renewed while held, so a slow storage write does not let a second holder in.
    const renew = setInterval(() => {
      redis.eval(RENEW_LOCK, 1, key, token, this.lockTtlMs).then(
        (ok) => { if (Number(ok) !== 1) this.logger?.warn({ event: 'alias.lock-lost', alias: name }, 'alias flip lock expired while held; the storage compare-and-set still guards the flip'); },
        () => undefined,
      );
    }, Math.max(50, Math.floor(this.lockTtlMs / 3)));
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await redis.eval(RELEASE_LOCK, 1, key, token).catch(() => undefined);
    }
  }
}

/** Waits (ms) before re-reading a record whose bytes are not whole JSON. */
const PARTIAL_READ_RETRIES = [50, 150, 400];

function isWholeJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(Buffer.from(bytes).toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

export function parseAliasRecord(bytes: Uint8Array, where: string): AliasRecord {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ShardIntegrityError(`alias record ${where} is not valid JSON`, { cause: err });
  }
  const parsed = aliasRecordSchema.safeParse(json);
  if (!parsed.success) {
    throw new ShardIntegrityError(`alias record ${where} does not match schema v${ALIAS_SCHEMA_VERSION}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      hint: 'it was written by an incompatible version; set the alias again with ./rag alias set',
    });
  }
  return parsed.data;
}

function conflict(name: string, at: number, expected: number): AliasConflictError {
  return new AliasConflictError(`alias ${name} is at version ${at}, not ${expected}`, {
    hint: 'someone else flipped it first; read it again (./rag alias show) and retry',
  });
}

function abbreviate(items: string[], max = 10): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
