import { createServer, type Server } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { RagError, type Logger } from '@rag/core';
import { closeServer, createMetricsRegistry, listen, sendMetrics } from '@rag/metrics';
import { AliasRegistry, type AliasSubscription } from '@rag/registry';
import type { SnapshotManifest } from '@rag/snapshot';
import { NIGHTLY_PREFIX, parseNightRecord, type NightRecord } from '@rag/nightly';
import type { ObjectStore } from '@rag/storage';
import { registerCoordinatorMetrics } from './coordinator-metrics.js';
import { discoverQueues } from './queue-discovery.js';
import { requireAdminForWrites } from './admin-auth.js';

export interface CoordinatorOptions {
  store: ObjectStore;
  /** BullMQ-style connection (maxRetriesPerRequest: null); also used for the alias cache and pub/sub. */
  redis: Redis;
  /** RAG_QUEUE_PREFIX */
  prefix: string;
  /** 0 = any free port. */
  port: number;
  /** @defaultValue "127.0.0.1" */
  host?: string;
  logger: Logger;
  /** How long the list of published snapshots is reused. @defaultValue 10000 */
  snapshotCacheMs?: number;
  /** How often Redis is scanned for new queues. @defaultValue 30000 */
  queueRescanMs?: number;
  /** RAG_ADMIN_TOKEN: required by every mutating request; unset = the dashboard is read-only. @defaultValue unset */
  adminToken?: string;
}

export interface Coordinator {
  url: string;
  port: number;
  aliases: AliasRegistry;
  /** Queues shown on the dashboard and in /metrics. */
  queueNames(): string[];
  /** True unless started with an admin token. */
  readOnly: boolean;
  close(): Promise<void>;
}

interface SnapshotSummary {
  id: string;
  passages: number;
  vectors: number;
  dim: number;
  shards: number;
  index: string;
  encoder: string;
  createdAt: string;
  /** Aliases that point at this snapshot now. */
  aliases: string[];
}

/**
 * The coordinator's HTTP face: Prometheus /metrics, a small JSON API over aliases and snapshots,
 * and a Bull Board dashboard of every BullMQ queue at /queues. It keeps no state of its own:
 * storage and Redis are read on request (snapshot list cached briefly).
 */
export async function startCoordinator(o: CoordinatorOptions): Promise<Coordinator> {
  const host = o.host ?? '127.0.0.1';
  const log = o.logger;
  const aliases = new AliasRegistry({ store: o.store, redis: o.redis, prefix: o.prefix, logger: log });
  // After a Redis restart the cache is empty: storage is the truth, so refill it.
  const synced = await aliases.syncCache();

  let snapshotCache: { at: number; manifests: Promise<SnapshotManifest[]> } | undefined;
  const manifests = (): Promise<SnapshotManifest[]> => {
    if (!snapshotCache || Date.now() - snapshotCache.at > (o.snapshotCacheMs ?? 10_000)) {
      const p = aliases.snapshots.list();
      snapshotCache = { at: Date.now(), manifests: p };
      p.catch(() => { if (snapshotCache?.manifests === p) snapshotCache = undefined; });
    }
    return snapshotCache.manifests;
  };

  const queues = new Map<string, Queue>();
  const serverAdapter = new ExpressAdapter().setBasePath('/queues');
  const board = createBullBoard({ queues: [], serverAdapter, options: { uiConfig: { boardTitle: 'rag queues' } } });
  const refreshQueues = async () => {
    const names = await discoverQueues(o.redis, o.prefix);
    let added = false;
    for (const name of names) {
      if (queues.has(name)) continue;
      queues.set(name, new Queue(name, { connection: o.redis, prefix: o.prefix }));
      added = true;
    }
    // Read-only adapters hide Bull Board's buttons and make its own handlers refuse changes too.
    if (added) board.replaceQueues([...queues.values()].map((q) => new BullMQAdapter(q, { readOnlyMode: !o.adminToken })));
  };
  await refreshQueues();
  const rescan = setInterval(() => {
    refreshQueues().catch((err) => log.warn({ event: 'coordinator.rescan-failed', err: RagError.from(err).oneLine() }, 'cannot scan Redis for queues'));
  }, o.queueRescanMs ?? 30_000);
  rescan.unref();

  let nightsCache: { at: number; nights: Promise<NightRecord[]> } | undefined;
  const lastNights = (): Promise<NightRecord[]> => {
    if (!nightsCache || Date.now() - nightsCache.at > (o.snapshotCacheMs ?? 10_000)) {
      const p = readLastNights(o.store);
      nightsCache = { at: Date.now(), nights: p };
      p.catch(() => { if (nightsCache?.nights === p) nightsCache = undefined; });
    }
    return nightsCache.nights;
  };

  const registry = createMetricsRegistry({ labels: { service: 'coordinator' } });
  const { aliasEvents } = registerCoordinatorMetrics(registry, {
    aliases,
    snapshotIds: async () => (await manifests()).map((m) => m.id),
    queues: () => [...queues.values()],
    lastNights,
  });
  const subscription: AliasSubscription = await aliases.subscribe((rec) => {
    aliasEvents.inc({ alias: rec.name });
    log.info({ event: 'alias.flipped', alias: rec.name, snapshot: rec.snapshot, version: rec.version, previous: rec.previous }, 'alias flipped');
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(requireAdminForWrites(o.adminToken));
  const json = (fn: (req: Request) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req).then((body) => res.json(body), next);
  };
  app.get('/metrics', (_req, res) => void sendMetrics(res, registry, log));
  app.get('/healthz', (_req, res) => {
    o.redis.ping().then(() => res.type('text').send('ok\n'), (err) => res.status(503).type('text').send(`redis: ${(err as Error).message}\n`));
  });
  app.get('/api/aliases', json(async () => aliases.list()));
  app.get('/api/aliases/:name', json(async (req) => aliases.require(String(req.params.name))));
  app.get('/api/aliases/:name/history', json(async (req) => aliases.history(String(req.params.name))));
  app.get('/api/snapshots', json(async () => {
    const [ms, as] = await Promise.all([manifests(), aliases.list()]);
    return ms.map((m): SnapshotSummary => ({
      id: m.id, passages: m.passages, vectors: m.vectors, dim: m.dim, shards: m.shards.length, index: m.index.kind,
      encoder: m.encoder.name, createdAt: m.createdAt, aliases: as.filter((a) => a.snapshot === m.id).map((a) => a.name),
    }));
  }));
  app.get('/api/snapshots/:id', json(async (req) => aliases.snapshots.read(String(req.params.id))));
  app.get('/api/queues', json(async () => Promise.all([...queues.values()].map(async (q) => ({ name: q.name, counts: await q.getJobCounts() })))));
  app.use('/queues', serverAdapter.getRouter());
  app.get('/', (_req, res) => {
    res.type('html').send(INDEX_HTML);
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = RagError.from(err);
    const status = e.code === 'USAGE' ? 400 : /NOT_FOUND|NOT_READY/.test(e.code) ? 404 : 500;
    if (status === 500) log.error({ event: 'coordinator.request-failed', err: e.oneLine() }, 'request failed');
    res.status(status).json({ error: e.code, message: e.message, hint: e.hint });
  });

  const server: Server = createServer(app);
  const port = await listen(server, o.port, host);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ event: 'coordinator.listening', url, storage: o.store.description, queues: [...queues.keys()], aliasesCached: synced, readOnly: !o.adminToken }, 'coordinator up');

  return {
    url,
    port,
    aliases,
    queueNames: () => [...queues.keys()],
    readOnly: !o.adminToken,
    async close() {
      clearInterval(rescan);
      await subscription.close();
      await closeServer(server);
      await Promise.all([...queues.values()].map((q) => q.close()));
      await aliases.close();
    },
  };
}

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>rag coordinator</title></head>
<body style="font-family: sans-serif">
<h1>rag coordinator</h1>
<ul>
<li><a href="queues">queues</a> (Bull Board)</li>
<li><a href="api/aliases">api/aliases</a> &middot; <a href="api/snapshots">api/snapshots</a> &middot; <a href="api/queues">api/queues</a></li>
<li><a href="metrics">metrics</a> (Prometheus)</li>
</ul>
</body></html>
`;

/** The newest finished (done) night of every alias with nightly records: what the nightly gauges report. */
async function readLastNights(store: ObjectStore): Promise<NightRecord[]> {
  const byAlias = new Map<string, string[]>();
  for (const key of await store.list(NIGHTLY_PREFIX)) {
    const alias = /^nightly\/([^/]+)\/\d{8}\/night\.json$/.exec(key)?.[1];
    if (alias) byAlias.set(alias, [...(byAlias.get(alias) ?? []), key]);
  }
  const out: NightRecord[] = [];
  for (const keys of byAlias.values()) {
    // Newest first, skipping a night still running or failed: the gauges describe the last finished one.
    for (const k of keys.sort().reverse()) {
      const r = parseNightRecord(await store.get(k), k);
      if (r.status === 'done') { out.push(r); break; }
    }
  }
  return out;
}
