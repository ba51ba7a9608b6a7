import type { Logger } from '@rag/core';
import { LiveSnapshot, type AliasRegistry, type SnapshotSwitchEvent } from '@rag/registry';
import { SnapshotRetriever } from '@rag/retrieval';
import type { ObjectCache, ObjectStore } from '@rag/storage';

export interface SnapshotLease {
  snapshot: string;
  value: SnapshotRetriever;
  release(): void;
}

export interface SnapshotPoolOptions {
  store: ObjectStore;
  aliases: AliasRegistry;
  logger: Logger;
  pollMs: number;
  /** Called when a followed reference switches to another snapshot (metrics). */
  onSwitch?: (info: { ref: string; from: string | undefined; to: string; ms: number }) => void;
  /** The local disk cache objects of a remote store are read through (see SnapshotRetriever.load). */
  objectCache?: ObjectCache;
  /** Called once per follower created (metrics track its switches and current snapshot). */
  onFollow?: (live: LiveSnapshot<SnapshotRetriever>) => void;
}

/**
 * The snapshots one generation worker serves, one follower per reference (alias or snapshot id)
 * seen in its jobs. An alias follower loads the new target in the background when the alias
 * flips, switches between jobs, and unloads the old snapshot once its last job is done.
 */
export class SnapshotPool {
  private readonly followers = new Map<string, Promise<LiveSnapshot<SnapshotRetriever>>>();

  constructor(private readonly o: SnapshotPoolOptions) {}

  async acquire(ref: string): Promise<SnapshotLease> {
    let f = this.followers.get(ref);
    if (!f) {
      f = (async () => {
        const resolved = await this.o.aliases.resolveSnapshotRef(ref);
        const live = new LiveSnapshot<SnapshotRetriever>({
          ...(resolved.kind === 'alias' ? { alias: ref } : { snapshot: ref }),
          registry: this.o.aliases,
          pollMs: this.o.pollMs,
          logger: this.o.logger,
          load: (id) => SnapshotRetriever.load(this.o.store, id, { logger: this.o.logger, ...(this.o.objectCache ? { objectCache: this.o.objectCache } : {}) }),
          // Called once the snapshot is no longer served and its last chunk is done: without it every
          // flip would keep another snapshot's FAISS indexes in memory for the life of the worker.
          unload: async (retriever) => retriever.release(),
        });
        live.on('switch', (ev: SnapshotSwitchEvent) => {
          this.o.logger.info({ event: 'snapshot.switched', alias: ev.alias, from: ev.from, to: ev.to, ms: ev.latencyMs }, 'alias flip: now serving the new snapshot');
          this.o.onSwitch?.({ ref, from: ev.from, to: ev.to, ms: ev.latencyMs });
        });
        this.o.onFollow?.(live);
        await live.start();
        return live;
      })();
      // A reference that fails to load (unknown alias, corrupt shard) is retried by the next job.
      f.catch(() => this.followers.delete(ref));
      this.followers.set(ref, f);
    }
    return (await f).acquire();
  }

  /** Snapshot ids currently served, per reference (for metrics and tests). */
  async current(): Promise<Record<string, string | undefined>> {
    const out: Record<string, string | undefined> = {};
    for (const [ref, f] of this.followers) out[ref] = await f.then((l) => l.snapshot, () => undefined);
    return out;
  }

  async close(): Promise<void> {
    for (const f of this.followers.values()) await f.then((l) => l.stop(), () => {});
    this.followers.clear();
  }
}
