// The per-file timing report of a test run: what `npm test` prints last and keeps in .rag/test-times.json.

export interface TestEventLine {
  name: string;
  nesting: number;
  suite: boolean;
  ms: number;
  outcome: 'pass' | 'fail' | 'skip' | 'todo';
  failure?: string;
  reason?: string;
}

export interface FileResult {
  path: string;
  lane: 'parallel' | 'serial' | 'set-up';
  seconds: number;
  /** CPU (user + system) of the file's processes and those they waited for; on 2 cores at most 2 × seconds. */
  cpuSeconds?: number;
  exitCode: number | null;
  timedOut: boolean;
  tests: number;
  pass: number;
  fail: number;
  skip: number;
  todo: number;
  /** The slowest tests of the file, slowest first. */
  slowest: { name: string; seconds: number }[];
  /** Skipped tests with the reason they gave. */
  skipped: { name: string; reason: string }[];
  log: string;
}

export interface RunReport {
  version: 1;
  tier: string;
  startedAt: string;
  cpu: string;
  cores: number;
  wallSeconds: number;
  setupSeconds: number;
  totals: { files: number; tests: number; pass: number; fail: number; skip: number; todo: number };
  files: FileResult[];
}

/** Counts of a file's leaf tests (suites are containers, not tests) from the events reporter's lines. */
export function summarise(events: TestEventLine[]): Pick<FileResult, 'tests' | 'pass' | 'fail' | 'skip' | 'todo' | 'slowest' | 'skipped'> {
  // A skipped suite reports no children: it counts as one skipped test.
  const leaves = events.filter((e) => !e.suite || e.outcome === 'skip');
  const count = (o: TestEventLine['outcome']) => leaves.filter((e) => e.outcome === o).length;
  // A suite whose hook failed fails without a failing leaf: count it, or the file would look green.
  const failedSuites = events.filter((e) => e.suite && e.outcome === 'fail' && !leaves.some((l) => l.outcome === 'fail')).length;
  return {
    tests: leaves.length,
    pass: count('pass'),
    fail: count('fail') + failedSuites,
    skip: count('skip'),
    todo: count('todo'),
    slowest: leaves.filter((e) => e.outcome === 'pass' || e.outcome === 'fail').sort((a, b) => b.ms - a.ms).slice(0, 3).map((e) => ({ name: e.name, seconds: round(e.ms / 1000) })),
    skipped: leaves.filter((e) => e.outcome === 'skip').map((e) => ({ name: e.name, reason: e.reason ?? '' })),
  };
}

export function round(x: number): number {
  return Math.round(x * 10) / 10;
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - 60 * m);
  return m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** The table, slowest first, with the run's totals under it. */
export function formatTable(report: RunReport): string {
  const rows = [...report.files].sort((a, b) => b.seconds - a.seconds);
  const width = Math.max(20, ...rows.map((r) => r.path.length));
  const lines = [
    `${pad('file', width)}  ${pad('lane', 8)}  ${pad('seconds', 8, true)}  ${pad('cpu s', 7, true)}  ${pad('tests', 5, true)}  ${pad('fail', 4, true)}  ${pad('skip', 4, true)}  slowest test`,
  ];
  for (const r of rows) {
    const status = r.timedOut ? '  TIMED OUT' : r.exitCode !== 0 && r.fail === 0 ? `  EXIT ${r.exitCode}` : '';
    const slow = r.slowest[0] ? `${r.slowest[0].seconds.toFixed(1)} s ${r.slowest[0].name.slice(0, 60)}` : '';
    lines.push(`${pad(r.path, width)}  ${pad(r.lane, 8)}  ${pad(r.seconds.toFixed(1), 8, true)}  ${pad(r.cpuSeconds === undefined ? '' : r.cpuSeconds.toFixed(1), 7, true)}  ${pad(String(r.tests), 5, true)}  ${pad(String(r.fail), 4, true)}  ${pad(String(r.skip), 4, true)}  ${slow}${status}`);
  }
  const t = report.totals;
  const sum = rows.filter((r) => r.lane !== 'set-up').reduce((a, r) => a + r.seconds, 0);
  lines.push(
    `${report.tier}: ${t.files} files, ${t.tests} tests (${t.pass} passed, ${t.fail} failed, ${t.skip} skipped, ${t.todo} todo) in ${clock(report.wallSeconds)}` +
      ` (set-up ${clock(report.setupSeconds)}; files ${clock(sum)} of work) on ${report.cores} × ${report.cpu}`,
  );
  return lines.join('\n');
}
