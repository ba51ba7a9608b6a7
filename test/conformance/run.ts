/**
 * `npm run conformance`: runs test/conformance/*.test.ts (our RAG stack vs Hugging Face's reference
 * values and transformers.js) with Node's test runner, spec output on the terminal, and ends with one
 * line `N passed, M failed` (skipped checks are named apart). Exits non-zero on any failure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
  .map((f) => join(here, f));
const scratch = mkdtempSync(join(tmpdir(), 'conformance-'));
const tap = join(scratch, 'report.tap');

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { stdio: 'inherit', cwd: join(here, '..', '..') },
);
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));

// TAP summary lines: "# pass N", "# fail M", "# skipped S" (suites are not counted as tests).
const summary = readFileSync(tap, 'utf8');
rmSync(scratch, { recursive: true, force: true });
const count = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(summary)?.[1] ?? NaN);
const passed = count('pass');
const failed = count('fail') + (count('cancelled') || 0);
const skipped = count('skipped') || 0;
if (!Number.isFinite(passed) || !Number.isFinite(failed)) {
  console.log(`0 passed, 1 failed (no test summary; runner exited ${code})`);
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? ` (${skipped} skipped)` : ''}`);
process.exit(failed > 0 || code !== 0 ? 1 : 0);
