import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { ObjectNotFoundError, RagError, UsageError } from '@rag/core';
import { AliasRegistry, removeSnapshot } from '@rag/registry';
import { DEFAULT_ABANDONED_AFTER_MS, SnapshotRegistry, collectGarbage, diffSnapshots, objectSizes } from '@rag/snapshot';
import { createObjectStore, type ObjectStore } from '@rag/storage';
import {
  applyGateDecision, causeSummary, loadNightlyConfig, nightHtmlKey, nightKey, nightOf, nightRecordSchema, nightsPrefix, nightSummaryLines, NightLock,
  parseNight, parseNightRecord, planRetention, renderNightReport, resolveNightSource, PromotionConflictError, type LoadedNightlyConfig, type NightRecord,
} from '@rag/nightly';
import { createRuntime, type Runtime } from '../runtime.js';
import { openQueueSession } from '../queue-session.js';
import { evaluateCandidate, printGate } from '../gate-runner.js';
import { DEFAULT_ENCODE_PART, DEFAULT_SHARD_SIZE, DEFAULT_WORDS_PER_PASSAGE } from '../build-defaults.js';
import { generationWorkers } from './qa.js';
import { snapshotBuild } from './snapshot-build.js';
import { actor } from './promote.js';

/** Changed answers kept in a night's record and report (the count is always whole). */
const CHANGES_SHOWN = 200;

export interface NightlyRunOptions {
  config: string;
  /** The night (YYYY-MM-DD); default today, UTC. */
  date?: string;
  /** Also write the night's HTML report here. */
  report?: string;
  json?: boolean;
  progress?: boolean;
}

async function readNight(store: ObjectStore, key: string): Promise<NightRecord | undefined> {
  try {
    return parseNightRecord(await store.get(key), key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

async function saveNight(store: ObjectStore, rec: NightRecord): Promise<void> {
  await store.put(nightKey(rec.alias, rec.night), JSON.stringify(nightRecordSchema.parse(rec), null, 2) + '\n');
}

/**
 * `rag nightly run`: one night, unattended. Builds tonight's dump on the snapshot the alias serves, gates
 * it on the canary questions, promotes (compare-and-set) or holds, applies retention, and stores the
 * night's report. Every step is recorded in `nightly/<alias>/<night>/night.json`: a re-run resumes at the
 * step it stopped at, and a finished night is not run again. Returns the exit code: 0 promoted (or first
 * night), 3 held.
 */
export async function nightlyRun(o: NightlyRunOptions): Promise<number> {
  const loaded = await loadNightlyConfig(o.config);
  const c = loaded.config;
  const night = o.date ? parseNight(o.date) : nightOf(new Date());
  const rt = createRuntime();
  const { store } = rt;
  const key = nightKey(c.alias, night);
  try {
    const done = await readNight(store, key);
    if (done?.status === 'done') {
      process.stderr.write(`nightly: night ${night} of ${c.alias} is already done (${done.decision}); nothing to do\n`);
      return finish(done, o, store);
    }
    const lock = await NightLock.acquire(store, c.alias, night);
    try {
      const rec = await runNight(rt, loaded, night, o);
      return await finish(rec, o, store);
    } finally {
      await lock.release();
    }
  } finally {
    await store.close();
  }
}

async function finish(rec: NightRecord, o: NightlyRunOptions, store: ObjectStore): Promise<number> {
  if (o.report) await writeFile(resolve(o.report), renderNightReport(rec));
  if (o.json) process.stdout.write(JSON.stringify(rec, null, 2) + '\n');
  else {
    process.stdout.write(nightSummaryLines(rec).join('\n') + '\n');
    process.stdout.write(`report: ${store.description}/${nightHtmlKey(rec.alias, rec.night)}${o.report ? ` (and ${resolve(o.report)})` : ''}\n`);
  }
  return rec.decision === 'held' ? 3 : 0;
}

async function runNight(rt: Runtime, loaded: LoadedNightlyConfig, night: string, o: NightlyRunOptions): Promise<NightRecord> {
  const c = loaded.config;
  const { store } = rt;
  const registry = new SnapshotRegistry(store);
  const aliases = new AliasRegistry({ store, prefix: rt.config.redis.prefix, logger: rt.logger });
  const snapshot = `${c.snapshotPrefix}-${night}`;
  // Read again under the lock: a run that held it may have finished this night meanwhile.
  let rec = await readNight(store, nightKey(c.alias, night));
  try {
    if (rec?.status === 'done') return rec;
    if (!rec) {
      const source = await resolveNightSource(c.source, night, (dir) => openSourceStore(rt, dir));
      // The base is fixed at the first attempt: a resumed night builds on what it started on.
      const cur = await aliases.get(c.alias);
      rec = {
        v: 1, alias: c.alias, night, snapshot, config: { path: loaded.path, sha256: loaded.sha256 }, status: 'running', step: 'started',
        startedAt: new Date().toISOString(), source, ...(cur ? { base: { snapshot: cur.snapshot, version: cur.version } } : {}),
      };
    }
    rec.status = 'running';
    delete rec.error;
    await saveNight(store, rec);
    process.stderr.write(`nightly: night ${night} of ${c.alias}: ${snapshot} from ${rec.source}${rec.base ? ` on ${rec.base.snapshot}` : ' (first night: full build)'}${rec.step !== 'started' ? `; resuming after step ${rec.step}` : ''}\n`);

    if (rec.step === 'started') {
      if (!(await registry.isPublished(snapshot))) {
        await snapshotBuild({
          source: rec.source, snapshot, ...(rec.base ? { base: rec.base.snapshot } : {}),
          shardSize: c.build.shardSize ?? DEFAULT_SHARD_SIZE, words: c.build.words ?? DEFAULT_WORDS_PER_PASSAGE,
          encodePart: c.build.encodePart ?? DEFAULT_ENCODE_PART, ...(c.build.workers !== undefined ? { workers: c.build.workers } : {}),
          ...(c.build.waitForWorkers ? { waitForWorkers: true } : {}), progress: o.progress,
        });
      }
      const m = await registry.read(snapshot);
      const diff = rec.base ? await diffSnapshots(store, await registry.read(rec.base.snapshot), m) : undefined;
      rec.build = {
        passages: m.passages, reencoded: m.build.work?.passagesEncoded ?? m.passages, reusedShards: diff?.shards.reused ?? 0, shards: m.shards.length,
        seconds: m.build.durationMs / 1000, ...(diff ? { bytesNew: diff.bytes.onlyB } : {}),
      };
      if (diff) rec.diff = { pages: diff.pages, passages: diff.passages };
      rec.step = 'built';
      await saveNight(store, rec);
    }

    if (rec.step === 'built') {
      // The gate compares with what the alias serves now (usually the base), pinned by version.
      const served = await aliases.get(c.alias);
      if (served) {
        const session = await openQueueSession(rt.config, rt.logger, { workers: generationWorkers(rt, c.build.workers), roles: 'generate' });
        let ev;
        try {
          ev = await evaluateCandidate(rt, session, { served: served.snapshot, candidate: snapshot, gate: c.gate, progress: o.progress });
        } finally {
          await session.close();
        }
        printGate(served.snapshot, snapshot, ev);
        rec.gate = {
          passed: ev.result.passed, summary: ev.result.summary, reasons: ev.result.reasons, metrics: ev.result.metrics, questions: ev.questions,
          baseline: { snapshot: served.snapshot, version: served.version },
        };
        rec.changes = { questions: ev.questions.n, changed: ev.changed.length, shown: ev.changed.slice(0, CHANGES_SHOWN) };
      }
      rec.step = 'gated';
      await saveNight(store, rec);
    }

    if (rec.step === 'gated') {
      await decide(rt, aliases, loaded, rec);
      rec.step = 'decided';
      await saveNight(store, rec);
    }

    if (rec.step === 'decided') {
      rec.retention = await applyRetention(rt, aliases, loaded, registry);
      rec.storageBytes = await referencedBytes(store, registry);
      rec.step = 'retained';
    }
    rec.status = 'done';
    rec.finishedAt = new Date().toISOString();
    await store.put(nightHtmlKey(c.alias, night), renderNightReport(rec));
    await saveNight(store, rec);
    return rec;
  } catch (err) {
    if (rec) {
      rec.status = 'failed';
      rec.error = RagError.from(err).oneLine();
      await saveNight(store, rec).catch(() => undefined);
    }
    throw err;
  } finally {
    await aliases.close();
  }
}

/** Promote or hold. Idempotent: a night whose flip landed before a crash finds the alias on its snapshot. */
async function decide(rt: Runtime, aliases: AliasRegistry, loaded: LoadedNightlyConfig, rec: NightRecord): Promise<void> {
  const c = loaded.config;
  const baseline = rec.gate?.baseline;
  const cur = await aliases.get(c.alias);
  if (cur?.snapshot === rec.snapshot && cur.version > (baseline?.version ?? 0)) {
    rec.decision = baseline ? 'promoted' : 'first';
    rec.aliasVersion = cur.version;
    if (rec.gate && cur.gate?.key) rec.gate.key = cur.gate.key;
    return;
  }
  const by = actor(`nightly ${loaded.path}`);
  const result = rec.gate ? { v: 1 as const, passed: rec.gate.passed, alpha: c.gate.alpha, minQuestions: c.gate.minQuestions, metrics: rec.gate.metrics, reasons: rec.gate.reasons, summary: rec.gate.summary } : undefined;
  try {
    const g = await applyGateDecision({
      store: rt.store, aliases, alias: c.alias, candidate: rec.snapshot, ...(baseline ? { baseline } : {}), ...(result ? { result } : {}), by, night: rec.night,
      ...(rec.gate ? { questions: rec.gate.questions } : {}),
      settings: { mode: c.gate.mode, k: c.gate.k, alpha: c.gate.alpha, minQuestions: c.gate.minQuestions, maxDrop: c.gate.maxDrop },
    });
    rec.decision = g.outcome === 'held' ? 'held' : baseline ? 'promoted' : 'first';
    if (g.aliasVersion) rec.aliasVersion = g.aliasVersion;
    if (rec.gate) rec.gate.key = g.key;
    process.stderr.write(`nightly: ${rec.decision}${g.aliasVersion ? `: ${c.alias} -> ${rec.snapshot} (version ${g.aliasVersion})` : `: ${c.alias} stays on ${baseline?.snapshot}`}\n`);
  } catch (err) {
    if (err instanceof PromotionConflictError) {
      // The gate compared with what the alias no longer serves: a re-run of the night gates again.
      rec.step = 'built';
      delete rec.gate;
      delete rec.changes;
    }
    throw err;
  }
}

/** Removes the nights retention does not keep (through the safe rm), then collects their objects. */
async function applyRetention(rt: Runtime, aliases: AliasRegistry, loaded: LoadedNightlyConfig, registry: SnapshotRegistry): Promise<NonNullable<NightRecord['retention']>> {
  const c = loaded.config;
  const plan = planRetention({
    published: await registry.listIds(), snapshotPrefix: c.snapshotPrefix, aliasHistory: await aliases.history(c.alias),
    aliasTargets: (await aliases.list()).map((a) => a.snapshot), keepNights: c.retention.keepNights, keepAliasVersions: c.retention.keepAliasVersions,
  });
  const removed: string[] = [];
  const refused: { id: string; reason: string }[] = [];
  for (const id of plan.remove) {
    try {
      await removeSnapshot(rt.store, aliases, id, { by: `nightly retention (${c.alias})` });
      removed.push(id);
    } catch (err) {
      refused.push({ id, reason: RagError.from(err).message });
    }
  }
  let gc: NonNullable<NightRecord['retention']>['gc'];
  if (removed.length) {
    try {
      const r = await collectGarbage(rt.store, { graceMs: Math.round(c.retention.gcGraceHours * 3600_000), abandonedAfterMs: DEFAULT_ABANDONED_AFTER_MS, dryRun: false });
      gc = { deleted: r.deleted, bytesFreed: r.bytesFreed, keptInGrace: r.keptInGrace };
    } catch (err) {
      // A gc that cannot run now (a build is running) frees the objects on a later night.
      refused.push({ id: '(gc)', reason: RagError.from(err).message });
    }
  }
  if (removed.length || refused.length) process.stderr.write(`nightly: retention removed ${removed.length} night(s)${removed.length ? ` (${removed.join(', ')})` : ''}${gc ? `; gc deleted ${gc.deleted} object(s), ${(gc.bytesFreed / 1e6).toFixed(1)} MB` : ''}${refused.length ? `; not removed: ${refused.map((r) => r.id).join(', ')}` : ''}\n`);
  return { kept: plan.keep.map((k) => k.id), removed, refused, ...(gc ? { gc } : {}) };
}

/** Bytes of the objects the published snapshots reference (each once): the store's size as far as serving goes. */
async function referencedBytes(store: ObjectStore, registry: SnapshotRegistry): Promise<number> {
  const all = new Map<string, number>();
  for (const id of await registry.listIds()) for (const [k, n] of await objectSizes(store, await registry.read(id))) all.set(k, n);
  let sum = 0;
  for (const n of all.values()) sum += n;
  return sum;
}

/** A directory or s3:// prefix holding dumps, read with this deployment's S3 settings. */
function openSourceStore(rt: Runtime, dirOrUrl: string): ObjectStore {
  return createObjectStore({ ...rt.config.storage, url: dirOrUrl });
}

/** `rag nightly history`: every night of an alias, newest first, with its decision and what changed. */
export async function nightlyHistory(o: { config?: string; alias?: string; json?: boolean; limit?: number }): Promise<void> {
  const alias = o.alias ?? (o.config ? (await loadNightlyConfig(o.config)).config.alias : undefined);
  if (!alias) throw new UsageError('nightly history needs --alias NAME or --config FILE');
  const rt = createRuntime();
  try {
    const keys = (await rt.store.list(nightsPrefix(alias))).filter((k) => k.endsWith('/night.json')).sort().reverse();
    const recs: NightRecord[] = [];
    for (const k of keys.slice(0, o.limit ?? keys.length)) recs.push(parseNightRecord(await rt.store.get(k), k));
    if (o.json) {
      process.stdout.write(JSON.stringify(recs, null, 2) + '\n');
      return;
    }
    if (!recs.length) {
      process.stdout.write(`no nights of ${alias} in ${rt.store.description}\n`);
      return;
    }
    const rows = [['NIGHT', 'SNAPSHOT', 'DECISION', 'PAGES', 'RE-ENCODED', 'CHANGED', 'GATE']];
    for (const r of recs) {
      const pages = r.diff ? `+${r.diff.pages.added} -${r.diff.pages.removed} ~${r.diff.pages.changed}` : '-';
      rows.push([r.night, r.snapshot, r.status === 'done' ? (r.decision ?? '-') : r.status, pages, r.build ? String(r.build.reencoded) : '-', r.changes ? `${r.changes.changed}/${r.changes.questions}` : '-', r.gate?.summary ?? (r.decision === 'first' ? 'first night' : r.error ?? '-')]);
    }
    // The gate column is last and free-width.
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(r.map((cell, i) => (i === 6 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd() + '\n');
    process.stdout.write(`reports: ${rt.store.description}/${nightsPrefix(alias)}<night>/report.html (./rag nightly show NIGHT --alias ${alias} --html FILE)\n`);
  } finally {
    await rt.store.close();
  }
}

/** `rag nightly show NIGHT`: one night's summary, and its HTML report written to a file. */
export async function nightlyShow(night: string, o: { config?: string; alias?: string; html?: string; json?: boolean }): Promise<void> {
  const alias = o.alias ?? (o.config ? (await loadNightlyConfig(o.config)).config.alias : undefined);
  if (!alias) throw new UsageError('nightly show needs --alias NAME or --config FILE');
  const rt = createRuntime();
  try {
    const n = parseNight(night);
    const rec = await readNight(rt.store, nightKey(alias, n));
    if (!rec) throw new UsageError(`no night ${n} of ${alias} in ${rt.store.description}`, { hint: `./rag nightly history --alias ${alias} lists them` });
    if (o.html) await writeFile(resolve(o.html), renderNightReport(rec));
    if (o.json) process.stdout.write(JSON.stringify(rec, null, 2) + '\n');
    else {
      process.stdout.write(nightSummaryLines(rec).join('\n') + '\n');
      for (const ch of rec.changes?.shown.slice(0, 10) ?? []) {
        const what = (s: typeof ch.a) => s.answer || s.top?.title || '-';
        process.stdout.write(`  ${ch.question}: ${what(ch.a)} -> ${what(ch.b)} (${causeSummary(ch.causes)})\n`);
      }
      if (o.html) process.stdout.write(`report: ${resolve(o.html)}\n`);
    }
  } finally {
    await rt.store.close();
  }
}

export interface NightlyInitOptions {
  out: string;
  alias: string;
  snapshotPrefix: string;
  source: string;
  questions: string;
  year?: string;
  keepNights: number;
  gcGraceHours: number;
  cron?: string;
  force?: boolean;
}

/**
 * `rag nightly init`: writes a starter configuration, validated by the same loader `nightly run` uses.
 * Paths given relative to the working directory are written relative to the file (how the loader reads them).
 */
export async function nightlyInit(o: NightlyInitOptions): Promise<void> {
  const out = resolve(o.out);
  if (existsSync(out) && !o.force) throw new UsageError(`${o.out} exists`, { hint: 'pass --force to overwrite it, or another --out' });
  const rel = (p: string) => (p.startsWith('s3://') || isAbsolute(p) ? p : relative(dirname(out), resolve(p)) || '.');
  const folder = o.source.endsWith('/');
  if (!folder && !/\{(yyyymmdd|yyyy|mm|dd)\}/.test(o.source)) {
    throw new UsageError(`--source ${o.source} has no date in it`, { hint: 'use {yyyymmdd} (or {yyyy}, {mm}, {dd}) where the dump name has the date, or end it with / to take the newest dump in that folder' });
  }
  const source = folder ? { newestUnder: rel(o.source) } : { pattern: rel(o.source) };
  const config = {
    version: 1, alias: o.alias, snapshotPrefix: o.snapshotPrefix, source,
    build: {},
    gate: { questions: rel(o.questions), ...(o.year ? { year: o.year } : {}), mode: 'retrieve-only', k: 20, maxDrop: { 'hits@20': 1 }, alpha: 0.05, minQuestions: 50 },
    retention: { keepNights: o.keepNights, keepAliasVersions: 2, gcGraceHours: o.gcGraceHours },
    ...(o.cron ? { schedule: { cron: o.cron } } : {}),
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(config, null, 2) + '\n');
  try {
    await loadNightlyConfig(out);
  } catch (err) {
    await rm(out, { force: true });
    throw err;
  }
  process.stdout.write(`wrote ${o.out}: nights ${o.snapshotPrefix}-YYYYMMDD promoted to ${o.alias}; run one with ./rag nightly run --config ${o.out}\n`);
}
