// Which test files a tier runs, in which lane, and which shared fixtures they need: read from a few
// comment lines at the top of each file, so a file says what it costs where it is written.
//
//   // test-lane: serial (why)   runs alone (timing-sensitive, or uses every core itself); default: parallel
//   // test-tier: full (why)    only in `npm test`, not in `npm run test:quick`; default: both
//   // test-fixtures: enwiki-night-1 world-163   shared fixtures built once per run before any file starts
// A reason in parentheses after the value is for the reader.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export type Tier = 'all' | 'quick' | 'unit' | 'e2e' | 'py';
export const TIERS: readonly Tier[] = ['all', 'quick', 'unit', 'e2e', 'py'];
export type Lane = 'parallel' | 'serial';

export interface TestFile {
  /** Path relative to the repository root. */
  path: string;
  kind: 'node' | 'pytest';
  lane: Lane;
  quick: boolean;
  fixtures: string[];
}

/** pytest of services/modelkit, one entry of the plan like a file (it has its own runner and venv). */
export const PYTEST = 'services/modelkit/tests';

const MARKER = /^\s*\/\/\s*test-(lane|tier|fixtures):\s*(.*?)\s*$/;

/** The markers of one file's leading comment lines. */
export function readMarkers(source: string, path: string): Pick<TestFile, 'lane' | 'quick' | 'fixtures'> {
  const out: Pick<TestFile, 'lane' | 'quick' | 'fixtures'> = { lane: 'parallel', quick: true, fixtures: [] };
  for (const line of source.split('\n').slice(0, 40)) {
    const m = MARKER.exec(line);
    if (!m) continue;
    const [, key, raw] = m as unknown as [string, string, string];
    const value = raw.replace(/\(.*$/, '').trim();
    if (key === 'lane') {
      if (value !== 'serial' && value !== 'parallel') throw new Error(`${path}: test-lane must be serial or parallel, not '${value}'`);
      out.lane = value;
    } else if (key === 'tier') {
      if (value !== 'full' && value !== 'quick') throw new Error(`${path}: test-tier must be full or quick, not '${value}'`);
      out.quick = value === 'quick';
    } else {
      out.fixtures = value.split(/[\s,]+/).filter(Boolean);
    }
  }
  return out;
}

function walk(dir: string, out: string[]): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries.sort()) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith('.test.ts')) out.push(p);
  }
}

/** Unit tests sit next to the code (shared/*, services/*); end-to-end tests under test/. */
export function discover(repo: string): { unit: string[]; e2e: string[] } {
  const unit: string[] = [];
  for (const top of ['shared', 'services']) {
    for (const pkg of readdirSync(join(repo, top)).sort()) walk(join(repo, top, pkg, 'src'), unit);
  }
  const e2e: string[] = [];
  walk(join(repo, 'test'), e2e);
  return { unit: unit.map((p) => relative(repo, p)), e2e: e2e.map((p) => relative(repo, p)) };
}

/** The plan of a tier, or of the files named (paths relative to the repository or absolute). */
export function planTests(repo: string, tier: Tier, only: string[] = []): TestFile[] {
  const { unit, e2e } = discover(repo);
  const node = (path: string): TestFile => ({ path, kind: 'node', ...readMarkers(readFileSync(join(repo, path), 'utf8'), path) });
  // Parallel: run beside other files it gets one torch thread (OMP_NUM_THREADS), which is what its tests use anyway.
  const pytest: TestFile = { path: PYTEST, kind: 'pytest', lane: 'parallel', quick: true, fixtures: [] };
  if (only.length) {
    return only.map((p) => {
      const rel = relative(repo, join(repo, p.startsWith('/') ? relative(repo, p) : p));
      return rel === PYTEST || rel.startsWith(`${PYTEST}/`) ? { ...pytest, path: rel } : node(rel);
    });
  }
  const files: TestFile[] = [];
  if (tier === 'all' || tier === 'quick' || tier === 'unit') files.push(...unit.map(node));
  if (tier === 'all' || tier === 'quick' || tier === 'e2e') files.push(...e2e.map(node));
  if (tier === 'all' || tier === 'quick' || tier === 'py') files.push(pytest);
  return tier === 'quick' ? files.filter((f) => f.quick) : files;
}
