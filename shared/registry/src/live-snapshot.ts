import { EventEmitter } from 'node:events';
import { RagError, UsageError, assertSnapshotId, type Logger } from '@rag/core';
import type { AliasRecord } from './alias-record.schema.js';
import type { AliasRegistry, AliasSubscription } from './alias-registry.js';

export interface LiveSnapshotOptions<T> {
  registry: AliasRegistry;
  /** Follow this alias: flips are loaded in the background and swapped in atomically... */
  alias?: string;
  /** ...or serve exactly this snapshot for the life of the process (no following). */
  snapshot?: string;
  /** Makes a snapshot usable (download, open FAISS, ...). May take long: jobs keep using the old one meanwhile. */
  load: (snapshotId: string) => Promise<T>;
  /** Frees a snapshot; called once, after its last lease is released. */
  unload?: (value: T, snapshotId: string) => Promise<void>;
  logger?: Logger;
  /** How often storage is read in case a pub/sub message was missed; 0 = never. @defaultValue 5000 */
  pollMs?: number;
}

/** One job's hold on a loaded snapshot: it stays loaded until `release()`. */
export interface SnapshotLease<T> {
  snapshot: string;
  /** The alias version this lease was taken at (0 when following a fixed snapshot). */
  version: number;
  value: T;
  /** Idempotent. */
  release(): void;
}

export interface SnapshotSwitchEvent {
  alias: string;
  from: string | undefined;
  to: string;
  version: number;
  /** From the moment the flip was seen (message or poll) until new acquires get the new snapshot. */
  latencyMs: number;
  /** Time spent in `load` alone. */
  loadMs: number;
}

export interface SnapshotLoadFailedEvent {
  alias: string;
  snapshot: string;
  version: number;
  error: RagError;
}

export interface LiveSnapshotStatus {
  alias?: string;
  snapshot?: string;
  version: number;
  switches: number;
  lastSwitch?: SnapshotSwitchEvent;
  /** Loaded snapshots and their open leases; more than one entry while an old one drains. */
  loaded: Array<{ snapshot: string; leases: number; current: boolean }>;
}

interface Loaded<T> {
  snapshot: string;
  version: number;
  value: T;
  leases: number;
  retired: boolean;
  unloading?: Promise<void>;
}

/**
 * A snapshot that a long-lived worker serves while its alias flips under it.
 *
 * acquire() pins whatever is current for one job. Storage is the only truth: a pub/sub message is
 * just a hint to read the alias again now (its payload is never trusted, so a stale or forged
 * message cannot pin a follower), and the poll catches missed messages. Whatever storage says is
 * followed, also backwards (a rollback, a restored bucket). The new snapshot loads in the
 * background while jobs keep acquiring the old one; then the swap is one assignment, so every
 * acquire after it gets the new one and every lease sees exactly one snapshot. The old snapshot is
 * unloaded when its last lease is released.
 *
 * Events: 'switch' (SnapshotSwitchEvent), 'load-failed' (SnapshotLoadFailedEvent; the old snapshot
 * stays and the next poll retries), 'unloaded' ({ snapshot }).
 */
export class LiveSnapshot<T> extends EventEmitter {
  readonly alias?: string;
  readonly fixedSnapshot?: string;
  private readonly registry: AliasRegistry;
  private readonly load: (snapshotId: string) => Promise<T>;
  private readonly unload?: (value: T, snapshotId: string) => Promise<void>;
  private readonly logger?: Logger;
  private readonly pollMs: number;

  private current?: Loaded<T>;
  private readonly entries = new Set<Loaded<T>>();
  /** The alias as storage last said it (what the switch loop converges to). */
  private target?: AliasRecord;
  /** When the current target was first seen (switch latency). */
  private targetSeenAt = 0;
  private switchLoop?: Promise<void>;
  private subscription?: AliasSubscription;
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  /** A hint arrived while a read was in flight: read again after it. */
  private repoll = false;
  private lastPollError?: string;
  private started?: Promise<void>;
  private stopped = false;
  private switches = 0;
  private lastSwitch?: SnapshotSwitchEvent;

  constructor(opts: LiveSnapshotOptions<T>) {
    super();
    if ((opts.alias === undefined) === (opts.snapshot === undefined)) {
      throw new UsageError('LiveSnapshot needs exactly one of alias or snapshot');
    }
    if (opts.alias !== undefined) this.alias = assertSnapshotId(opts.alias, 'alias name');
    if (opts.snapshot !== undefined) this.fixedSnapshot = assertSnapshotId(opts.snapshot);
    this.registry = opts.registry;
    this.load = opts.load;
    this.unload = opts.unload;
    this.logger = opts.logger;
    this.pollMs = opts.pollMs ?? 5000;
  }

  /** Loads the current target; resolves when the first acquire can be served. Idempotent. */
  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  private async doStart(): Promise<void> {
    if (this.fixedSnapshot !== undefined) {
      const value = await this.load(this.fixedSnapshot);
      this.install({ snapshot: this.fixedSnapshot, version: 0, value, leases: 0, retired: false });
      return;
    }
    const alias = this.alias!;
    let hinted = false;
    // Subscribe before reading, so that a flip between the read and the subscription is not lost.
    this.subscription = await this.registry.subscribe((rec) => this.hint(rec), { onReconnect: () => void this.poll() });
    try {
      const rec = await this.registry.require(alias);
      const t0 = Date.now();
      const value = await this.load(rec.snapshot);
      this.install({ snapshot: rec.snapshot, version: rec.version, value, leases: 0, retired: false });
      // A hint read storage while we loaded: that read may be older or newer than ours; read once more below.
      hinted = this.target !== undefined;
      this.target ??= rec;
      this.logger?.info({ event: 'snapshot.loaded', alias, snapshot: rec.snapshot, version: rec.version, loadMs: Date.now() - t0 }, 'serving snapshot');
    } catch (err) {
      await this.subscription.close();
      this.subscription = undefined;
      throw err;
    }
    if (this.stopped) return;
    this.kick();
    if (hinted) void this.poll();
    if (this.pollMs > 0) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
    }
  }

  /** Pins the current snapshot for one job. Waits for start() if it has not finished yet. */
  async acquire(): Promise<SnapshotLease<T>> {
    if (!this.current) {
      if (!this.started) throw new UsageError('LiveSnapshot.acquire() before start()');
      await this.started;
    }
    if (this.stopped) throw new RagError('SNAPSHOT_STOPPED', 'the live snapshot is stopped', { retryable: true });
    // No await between reading `current` and counting the lease: a swap cannot slip in between.
    const e = this.current!;
    e.leases++;
    let released = false;
    return {
      snapshot: e.snapshot,
      version: e.version,
      value: e.value,
      release: () => {
        if (released) return;
        released = true;
        e.leases--;
        if (e.leases === 0 && e.retired) void this.unloadEntry(e);
      },
    };
  }

  /** acquire() → fn → release(), also when fn throws. */
  async use<R>(fn: (value: T, lease: SnapshotLease<T>) => Promise<R>): Promise<R> {
    const lease = await this.acquire();
    try {
      return await fn(lease.value, lease);
    } finally {
      lease.release();
    }
  }

  /** The snapshot new acquires get, or undefined before start() finished. */
  get snapshot(): string | undefined {
    return this.current?.snapshot;
  }

  get version(): number {
    return this.current?.version ?? 0;
  }

  status(): LiveSnapshotStatus {
    return {
      alias: this.alias,
      snapshot: this.current?.snapshot,
      version: this.current?.version ?? 0,
      switches: this.switches,
      lastSwitch: this.lastSwitch,
      loaded: [...this.entries].map((e) => ({ snapshot: e.snapshot, leases: e.leases, current: e === this.current })),
    };
  }

  /** Reads the alias from storage now (what the timer does); returns after any resulting switch. */
  async refresh(): Promise<void> {
    await this.poll();
    while (this.switchLoop) await this.switchLoop;
  }

  /**
   * Stops following, waits for open leases to be released (up to `drainTimeoutMs`), then unloads
   * everything. A snapshot still leased at the deadline is left loaded, with a warning.
   */
  async stop(opts: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // start() may still be subscribing or loading: let it finish, then tear down what it set up.
    await this.started?.catch(() => undefined);
    await this.subscription?.close();
    await this.switchLoop;
    if (this.current) this.current.retired = true;
    const deadline = Date.now() + (opts.drainTimeoutMs ?? 30_000);
    while ([...this.entries].some((e) => e.leases > 0) && Date.now() < deadline) await sleep(10);
    for (const e of [...this.entries]) {
      if (e.leases > 0) {
        this.logger?.warn({ event: 'snapshot.stop-undrained', snapshot: e.snapshot, leases: e.leases }, 'stopping with leases still open; not unloading');
        continue;
      }
      await this.unloadEntry(e);
    }
  }

  /** A pub/sub message: only its alias name is looked at; storage says what it means. */
  private hint(rec: AliasRecord): void {
    if (this.stopped || rec.name !== this.alias) return;
    void this.poll();
  }

  private poll(): Promise<void> {
    if (this.stopped || !this.alias) return Promise.resolve();
    if (this.polling) {
      this.repoll = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.repoll = false;
        await this.readStored();
      } while (this.repoll && !this.stopped);
    })().finally(() => { this.polling = undefined; });
    return this.polling;
  }

  private async readStored(): Promise<void> {
    try {
      const rec = await this.registry.get(this.alias!);
      if (this.lastPollError) this.logger?.info({ event: 'alias.poll-recovered', alias: this.alias }, 'alias readable again');
      this.lastPollError = undefined;
      if (rec) this.observe(rec);
    } catch (err) {
      const msg = RagError.from(err).oneLine();
      // One warning per distinct problem, not one every poll.
      if (msg !== this.lastPollError) this.logger?.warn({ event: 'alias.poll-failed', alias: this.alias, err: msg }, 'cannot read alias; keeping the current snapshot');
      this.lastPollError = msg;
    }
  }

  /** The alias as read from storage: becomes the target, whatever its version. */
  private observe(rec: AliasRecord): void {
    if (this.stopped || rec.name !== this.alias) return;
    if (!this.target || this.target.snapshot !== rec.snapshot) this.targetSeenAt = Date.now();
    if (this.target && rec.version < this.target.version) {
      this.logger?.warn({ event: 'alias.went-back', alias: this.alias, from: this.target.version, to: rec.version, snapshot: rec.snapshot }, 'stored alias version went back; following storage');
    }
    this.target = rec;
    // start() is still loading: it converges to the target when it is done.
    if (this.current) this.kick();
  }

  private kick(): void {
    if (this.switchLoop) return;
    this.switchLoop = this.runSwitches().finally(() => { this.switchLoop = undefined; });
  }

  /** Loads and swaps in the target until the current snapshot is what storage says. */
  private async runSwitches(): Promise<void> {
    while (!this.stopped && this.current && this.target) {
      const record = this.target;
      if (record.snapshot === this.current.snapshot) {
        // Re-set to (or flipped back to) the snapshot we already serve: nothing to load.
        this.current.version = record.version;
        return;
      }
      const seenAt = this.targetSeenAt;
      const t0 = Date.now();
      let value: T;
      try {
        value = await this.load(record.snapshot);
      } catch (err) {
        const error = RagError.from(err);
        this.logger?.error({ event: 'snapshot.load-failed', alias: this.alias, snapshot: record.snapshot, version: record.version, err: error.oneLine() }, 'cannot load new snapshot; keeping the current one');
        this.emit('load-failed', { alias: this.alias!, snapshot: record.snapshot, version: record.version, error } satisfies SnapshotLoadFailedEvent);
        // The next poll (or message) tries again.
        return;
      }
      const loadMs = Date.now() - t0;
      const fresh: Loaded<T> = { snapshot: record.snapshot, version: record.version, value, leases: 0, retired: false };
      this.entries.add(fresh);
      if (this.stopped || this.target.snapshot !== fresh.snapshot) {
        // Flipped again (or stopping) while we loaded: the loaded one is already stale.
        fresh.retired = true;
        await this.unloadEntry(fresh);
        continue;
      }
      const from = this.current;
      fresh.version = this.target.version;
      this.install(fresh);
      const ev: SnapshotSwitchEvent = { alias: this.alias!, from: from.snapshot, to: fresh.snapshot, version: fresh.version, latencyMs: Date.now() - seenAt, loadMs };
      this.switches++;
      this.lastSwitch = ev;
      this.logger?.info({ event: 'snapshot.switched', ...ev, oldLeases: from.leases }, 'switched snapshot');
      this.emit('switch', ev);
      from.retired = true;
      if (from.leases === 0) void this.unloadEntry(from);
    }
  }

  private install(e: Loaded<T>): void {
    this.entries.add(e);
    this.current = e;
  }

  private unloadEntry(e: Loaded<T>): Promise<void> {
    e.unloading ??= (async () => {
      try {
        await this.unload?.(e.value, e.snapshot);
      } catch (err) {
        this.logger?.warn({ event: 'snapshot.unload-failed', snapshot: e.snapshot, err: RagError.from(err).oneLine() }, 'unload failed');
      } finally {
        this.entries.delete(e);
      }
      this.logger?.debug({ event: 'snapshot.unloaded', snapshot: e.snapshot }, 'snapshot unloaded');
      this.emit('unloaded', { snapshot: e.snapshot });
    })();
    return e.unloading;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
