// The test runner behind `npm test` and `npm run test:quick` (infra/test.sh):
//   1. plans the tier's files (test-plan.ts) and checks what they need is installed;
//   2. builds the shared fixtures the planned files name, once (test/helpers/shared-fixtures.ts);
//   3. runs the parallel lane a few files at a time (ONNX Runtime and FAISS pinned to one thread each),
//      then the serial lane one file at a time (timing-sensitive files, files that use every core);
//   4. prints a per-file timing table and keeps it in .rag/test-times.json (the next run schedules the
//      parallel lane longest-first from it), each file's full output in .rag/test-logs/.
// Every test gets a default timeout (default-timeout.ts) and every file a wall-clock limit.
//
//   node --import tsx test/runner/run-tests.ts [all|quick|unit|e2e|py] [FILE ...] [--jobs N]
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/run-rag.js';
import { killTree } from '../helpers/process-tree.js';
import { useFixture } from '../helpers/shared-fixtures.js';
import { planTests, TIERS, type TestFile, type Tier } from './test-plan.js';
import { formatTable, round, summarise, type FileResult, type RunReport, type TestEventLine } from './timing-table.js';

const TIMES = join(REPO, '.rag', 'test-times.json');
const LOGS = join(REPO, '.rag', 'test-logs');
const VENV_PYTHON = join(REPO, 'services', 'modelkit', '.venv', 'bin', 'python');
/** Default per-test timeout; tests that need longer say so. */
const TEST_TIMEOUT_MS = 300_000;
/** Wall-clock limit of one file, whatever its tests say: a hung file must not hold CI to its 90 minutes. */
const FILE_LIMIT_MS = 30 * 60_000;

interface Options {
  tier: Tier;
  files: string[];
  jobs: number;
}

function usage(message: string): never {
  process.stderr.write(`run-tests: ${message}\nusage: node --import tsx test/runner/run-tests.ts [${TIERS.join('|')}] [FILE ...] [--jobs N]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { tier: 'all', files: [], jobs: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--jobs') {
      o.jobs = Number(argv[++i]);
      if (!Number.isInteger(o.jobs) || o.jobs < 1) usage(`--jobs ${argv[i]}: expected a whole number of at least 1`);
    } else if ((TIERS as readonly string[]).includes(a)) o.tier = a as Tier;
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else o.files.push(a);
  }
  return o;
}

function previousSeconds(): Map<string, number> {
  try {
    const prev = JSON.parse(readFileSync(TIMES, 'utf8')) as RunReport;
    return new Map(prev.files.map((f) => [f.path, f.seconds]));
  } catch {
    return new Map();
  }
}

function cpuModel(): string {
  return (cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
}

/** The command that runs one planned file. */
function commandOf(f: TestFile, tier: Tier, eventsPath: string): { cmd: string; args: string[]; cwd: string } {
  if (f.kind === 'pytest') {
    const target = f.path === 'services/modelkit/tests' ? ['tests'] : [f.path.replace(/^services\/modelkit\//, '')];
    return { cmd: VENV_PYTHON, args: ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--durations=5', ...(tier === 'quick' ? ['-m', 'not slow'] : []), ...target], cwd: join(REPO, 'services', 'modelkit') };
  }
  return {
    cmd: process.execPath,
    args: [
      '--import', 'tsx', '--import', './test/runner/default-timeout.ts',
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=./test/runner/test-events-reporter.ts', `--test-reporter-destination=${eventsPath}`,
      f.path,
    ],
    cwd: REPO,
  };
}

/** pytest's last line: "3 passed, 1 skipped in 12.3s" (also "failed", "error(s)", "deselected"). */
function pytestCounts(output: string): Pick<FileResult, 'tests' | 'pass' | 'fail' | 'skip' | 'todo' | 'slowest' | 'skipped'> {
  const last = output.trim().split('\n').reverse().find((l) => / in [\d.]+s/.test(l)) ?? '';
  const n = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(last)?.[1] ?? 0);
  const pass = n('passed');
  const fail = n('failed') + n('errors?');
  const skip = n('skipped');
  const slowest = [...output.matchAll(/^([\d.]+)s (?:call|setup)\s+(\S+)/gm)].slice(0, 3).map((m) => ({ name: m[2]!, seconds: round(Number(m[1])) }));
  return { tests: pass + fail + skip, pass, fail, skip, todo: 0, slowest, skipped: [] };
}

/** Runs one file to the end (or to FILE_LIMIT_MS); `stream` copies its output to ours as it comes. */
function runFile(f: TestFile, tier: Tier, env: NodeJS.ProcessEnv, stream: boolean): Promise<FileResult> {
  const slug = f.path.replace(/[\\/]/g, '__');
  const eventsPath = join(LOGS, `${slug}.events.jsonl`);
  const logPath = join(LOGS, `${slug}.log`);
  writeFileSync(eventsPath, '');
  const cpuPath = join(LOGS, `${slug}.cpu`);
  writeFileSync(cpuPath, '');
  const { cmd, args, cwd } = commandOf(f, tier, eventsPath);
  const started = Date.now();
  return new Promise((resolve) => {
    // Through bash, whose `times` reports the CPU the file and every process it waited for used.
    // Own process group: a timed-out file is killed with everything it started (CLIs, workers, servers).
    const script = '"$@"; rc=$?; times > "$RAG_TEST_CPU_FILE"; exit $rc';
    const child = spawn('bash', ['-c', script, 'run-file', cmd, ...args], { cwd, env: { ...env, RAG_TEST_CPU_FILE: cpuPath }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child.pid!);
    let output = '';
    const take = (d: Buffer) => {
      output += d;
      if (stream) process.stdout.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child.pid!, 'SIGKILL');
    }, FILE_LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child.pid!);
      const seconds = round((Date.now() - started) / 1000);
      writeFileSync(logPath, output);
      let counts: ReturnType<typeof pytestCounts>;
      if (f.kind === 'pytest') counts = pytestCounts(output);
      else {
        const events = readFileSync(eventsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TestEventLine);
        counts = summarise(events);
      }
      if (!stream) process.stdout.write(`\n▶ ${f.path} (${seconds} s)\n${output}`);
      if (timedOut) process.stdout.write(`\n✖ ${f.path}: killed after the file limit of ${FILE_LIMIT_MS / 60_000} minutes\n`);
      resolve({ path: f.path, lane: f.lane, seconds, cpuSeconds: childCpuSeconds(cpuPath), exitCode: code, timedOut, ...counts, log: logPath });
    });
  });
}

const running = new Set<number>();

/** User + system seconds of the processes a file ran, from bash's `times` (second line: children). */
function childCpuSeconds(path: string): number | undefined {
  const line = readFileSync(path, 'utf8').trim().split('\n')[1];
  const t = line?.match(/(\d+)m([\d.]+)s/g)?.map((x) => { const [, m, sec] = /(\d+)m([\d.]+)s/.exec(x)!; return 60 * Number(m) + Number(sec); });
  return t?.length === 2 ? round(t[0]! + t[1]!) : undefined;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const plan = planTests(REPO, o.tier, o.files);
  if (!plan.length) usage('no test files planned');
  if (plan.some((f) => f.kind === 'pytest') && !existsSync(VENV_PYTHON)) {
    process.stderr.write('run-tests: services/modelkit/.venv is missing (the Python model toolchain the tests use); create it with: bash infra/setup-python.sh\n');
    process.exit(1);
  }
  mkdirSync(LOGS, { recursive: true });
  const runStarted = Date.now();
  const results: FileResult[] = [];
  const stop = (signal: NodeJS.Signals) => {
    for (const pid of running) killTree(pid, 'SIGKILL');
    process.stderr.write(`\nrun-tests: ${signal}: stopped ${running.size} running file(s)\n`);
    process.exit(130);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  // 1. Shared fixtures, once, before any file.
  const fixtures = [...new Set(plan.flatMap((f) => f.fixtures))];
  const setupStarted = Date.now();
  for (const name of fixtures) {
    const started = Date.now();
    try {
      const { dir, built } = await useFixture(name, (line) => process.stdout.write(`run-tests: ${line}\n`));
      process.stdout.write(`run-tests: fixture ${name}: ${built ? 'built' : 'up to date'} in ${round((Date.now() - started) / 1000)} s (${dir})\n`);
      results.push({ path: `fixture ${name}`, lane: 'set-up', seconds: round((Date.now() - started) / 1000), exitCode: 0, timedOut: false, tests: 0, pass: 0, fail: 0, skip: 0, todo: 0, slowest: [], skipped: [], log: dir });
    } catch (err) {
      process.stderr.write(`run-tests: fixture ${name} failed to build: ${(err as Error).message}\n`);
      results.push({ path: `fixture ${name}`, lane: 'set-up', seconds: round((Date.now() - started) / 1000), exitCode: 1, timedOut: false, tests: 0, pass: 0, fail: 1, skip: 0, todo: 0, slowest: [], skipped: [], log: '' });
    }
  }
  const setupSeconds = round((Date.now() - setupStarted) / 1000);

  const base: NodeJS.ProcessEnv = { ...process.env, RAG_TEST_TIMEOUT_MS: String(TEST_TIMEOUT_MS) };
  // Side by side, each file gets one ONNX Runtime and one FAISS/BLAS thread: two files on two cores
  // with spinning thread pools each would run several times slower than one after the other.
  const pinned: NodeJS.ProcessEnv = { ...base, RAG_ONNX_THREADS: '1', RAG_FAISS_THREADS: '1', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
  const prev = previousSeconds();
  const parallel = plan.filter((f) => f.lane === 'parallel').sort((a, b) => (prev.get(b.path) ?? 0) - (prev.get(a.path) ?? 0));
  const serial = plan.filter((f) => f.lane === 'serial');

  // 2. The parallel lane, `jobs` at a time, longest first (from the last run's table).
  const jobs = o.jobs === 1 || parallel.length === 1 ? 1 : o.jobs;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(jobs, parallel.length) }, async () => {
    while (next < parallel.length) {
      const f = parallel[next++]!;
      results.push(await runFile(f, o.tier, jobs > 1 ? pinned : base, jobs === 1));
    }
  }));
  // 3. The serial lane, alone on the machine.
  for (const f of serial) {
    process.stdout.write(`\n▶ ${f.path}\n`);
    results.push(await runFile(f, o.tier, base, true));
  }

  const files = results.filter((r) => r.lane !== 'set-up');
  const sum = (k: 'tests' | 'pass' | 'fail' | 'skip' | 'todo') => files.reduce((a, r) => a + r[k], 0);
  const report: RunReport = {
    version: 1,
    tier: o.files.length ? 'files' : o.tier,
    startedAt: new Date(runStarted).toISOString(),
    cpu: cpuModel(),
    cores: cpus().length,
    wallSeconds: round((Date.now() - runStarted) / 1000),
    setupSeconds,
    totals: { files: files.length, tests: sum('tests'), pass: sum('pass'), fail: sum('fail') + results.filter((r) => r.lane === 'set-up' && r.fail).length, skip: sum('skip'), todo: sum('todo') },
    files: results,
  };
  writeFileSync(TIMES, JSON.stringify(report, null, 2) + '\n');
  const skipped = files.flatMap((r) => r.skipped.map((s) => `  ${r.path}: ${s.name}${s.reason ? ` (${s.reason})` : ''}`));
  if (skipped.length) process.stdout.write(`\nskipped:\n${skipped.join('\n')}\n`);
  const failed = results.filter((r) => r.exitCode !== 0 || r.fail > 0 || r.timedOut);
  process.stdout.write(`\n${formatTable(report)}\n(table kept in ${TIMES}; logs in ${LOGS})\n`);
  if (failed.length) {
    process.stdout.write(`\nfailed: ${failed.map((r) => r.path).join(', ')}\n`);
    process.exit(1);
  }
}

await main();
