// Expensive test inputs built once and shared by every file that needs them: a snapshot of the real enwiki
// sample, a held-out synthetic world with its 2016 and 2018 snapshots. Each is built through the real
// CLI into .rag/test-fixtures/<name>-<key>, where the key is the sha256 of everything the build reads
// (source data, models, the code of the stages it runs), so an edit to any of them rebuilds it and
// nothing else does. run-tests.ts builds the fixtures a run needs before any file starts (a file
// names them with `// test-fixtures: ...`); a file run on its own builds them on first use.
//
// A fixture is read-only for its users: a test that writes to storage (rm, gc, aliases, new builds)
// works on a copy (copyFixtureStorage).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ENWIKI, REPO, runRag } from './run-rag.js';

export interface SharedFixture {
  name: string;
  /** What it is, for the runner's log. */
  what: string;
  /** Files and directories (relative to the repository) whose bytes the build depends on. */
  inputs: string[];
  /** Builds into `dir` (empty, created). */
  build(dir: string): Promise<void>;
}

/** The code every snapshot build runs: ingest, encode, index, publish, storage, the CLI and workers. */
const BUILD_CODE = [
  'rag', 'package-lock.json',
  ...['core', 'config', 'corpus', 'encoder', 'index', 'pipeline', 'queue', 'snapshot', 'storage', 'registry', 'metrics'].map((p) => `shared/${p}/src`),
  'services/cli/src', 'services/worker/src', 'infra/faiss/src',
];

async function ok(args: string[], env: Record<string, string>): Promise<string> {
  const r = await runRag(args, env);
  if (r.code !== 0) throw new Error(`./rag ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/** Storage and home of a fixture, as RAG_STORAGE and RAG_HOME. */
export function fixtureEnv(dir: string): { RAG_STORAGE: string; RAG_HOME: string } {
  return { RAG_STORAGE: join(dir, 'storage'), RAG_HOME: join(dir, 'home') };
}

/** The 2016 enwiki sample (4,282 passages) with the default encoder (all-MiniLM-L6-v2), shards of 500, two workers. */
export const ENWIKI_NIGHT_1: SharedFixture = {
  name: 'enwiki-night-1',
  what: 'enwiki 2016 sample → snapshot enwiki-2016 (all-MiniLM-L6-v2, --shard-size 500, --workers 2)',
  inputs: [relative(REPO, ENWIKI), 'models/all-MiniLM-L6-v2', ...BUILD_CODE],
  async build(dir) {
    await ok(['snapshot', 'build', '--source', ENWIKI, '--snapshot', 'enwiki-2016', '--workers', '2', '--shard-size', '500', '--no-progress'], fixtureEnv(dir));
  },
};

/** The world seed no training stage saw that the end-to-end files share (16 countries, 120 questions). */
export const WORLD = { seed: 163, countries: 16, questions: 120 } as const;

/** A held-out world and its two snapshots (world-2016, world-2018), as buildWorld made them per file. */
export const WORLD_163: SharedFixture = {
  name: 'world-163',
  what: `world seed ${WORLD.seed} (${WORLD.countries} countries, ${WORLD.questions} questions) → snapshots world-2016 and world-2018`,
  inputs: ['shared/world/src', 'models/all-MiniLM-L6-v2', ...BUILD_CODE],
  async build(dir) {
    const env = fixtureEnv(dir);
    const out = join(dir, 'world');
    await ok(['world', 'generate', '--seed', String(WORLD.seed), '--out', out, '--countries', String(WORLD.countries), '--questions', String(WORLD.questions)], env);
    for (const year of ['2016', '2018']) {
      await ok(['snapshot', 'build', '--source', join(out, year, 'world.xml.bz2'), '--snapshot', `world-${year}`, '--workers', '1', '--shard-size', '100', '--no-progress'], env);
    }
  },
};

export const SHARED_FIXTURES: readonly SharedFixture[] = [ENWIKI_NIGHT_1, WORLD_163];

export function sharedFixture(name: string): SharedFixture {
  const f = SHARED_FIXTURES.find((x) => x.name === name);
  if (!f) throw new Error(`unknown shared fixture '${name}' (known: ${SHARED_FIXTURES.map((x) => x.name).join(', ')})`);
  return f;
}

function hashTree(path: string, h: ReturnType<typeof createHash>): void {
  const abs = join(REPO, path);
  if (!existsSync(abs)) {
    h.update(`absent ${path}\n`);
    return;
  }
  if (statSync(abs).isDirectory()) {
    for (const e of readdirSync(abs).sort()) {
      if (e === 'node_modules' || e.startsWith('.') || e.endsWith('.test.ts')) continue;
      hashTree(join(path, e), h);
    }
    return;
  }
  h.update(`${path}\n`);
  h.update(readFileSync(abs));
}

/** sha256 of the fixture's definition and the bytes of its inputs. */
export function fixtureKey(f: SharedFixture): string {
  const h = createHash('sha256');
  h.update(`${f.name}\n${f.what}\n${f.build.toString()}\n`);
  for (const input of f.inputs) hashTree(input, h);
  return h.digest('hex').slice(0, 16);
}

export const FIXTURES_ROOT = join(REPO, '.rag', 'test-fixtures');
const READY = 'READY';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The fixture's directory, built first if needed. Safe when several processes ask at once: one builds
 * (holding a lock directory with its pid), the others wait for READY; a build that died is started over.
 */
export async function useFixture(name: string, log: (line: string) => void = () => {}): Promise<{ dir: string; built: boolean }> {
  const f = sharedFixture(name);
  const dir = join(FIXTURES_ROOT, `${f.name}-${fixtureKey(f)}`);
  const lock = `${dir}.lock`;
  mkdirSync(FIXTURES_ROOT, { recursive: true });
  for (;;) {
    if (existsSync(join(dir, READY))) return { dir, built: false };
    try {
      mkdirSync(lock);
    } catch {
      const holder = Number(readFileSafe(join(lock, 'pid')));
      if (holder && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      writeFileSync(join(lock, 'pid'), String(process.pid));
      if (existsSync(join(dir, READY))) return { dir, built: false };
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      log(`building shared fixture ${f.name}: ${f.what}`);
      await f.build(dir);
      writeFileSync(join(dir, READY), `${new Date().toISOString()}\n`);
      // Older builds of the same fixture (other keys) are of no further use.
      for (const e of readdirSync(FIXTURES_ROOT)) {
        if (e.startsWith(`${f.name}-`) && join(FIXTURES_ROOT, e) !== dir && !e.endsWith('.lock')) rmSync(join(FIXTURES_ROOT, e), { recursive: true, force: true });
      }
      return { dir, built: true };
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A private copy of the fixture's storage (and its world files, if any) under `into`; returns RAG_STORAGE/RAG_HOME for it. */
export async function copyFixture(name: string, into: string): Promise<{ RAG_STORAGE: string; RAG_HOME: string; dir: string }> {
  const { dir } = await useFixture(name);
  for (const e of readdirSync(dir)) if (e !== READY && e !== 'home') cpSync(join(dir, e), join(into, e), { recursive: true });
  return { ...fixtureEnv(into), dir: into };
}
