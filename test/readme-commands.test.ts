// The README's commands run as written, in order, after `npm run demo` - the first hour of a new user.
// Every ```bash block of README.md runs (each command in its own bash) in a fresh directory laid out like a clone:
// ./rag, ../shared/data, and the state the demo leaves in ./.rag. A block preceded by
// `<!-- readme-test: skip (reason) -->` is not run (the set-up itself, machines of the user's own, the network).
// test-tier: full
// test-lane: serial
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { collect, REPO, type RagResult } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { hasWorldModels } from './helpers/world-snapshots.js';

export interface ReadmeBlock {
  line: number;
  code: string;
  skip?: string;
}

const SKIP = /^<!--\s*readme-test:\s*skip\s*(.*?)\s*-->$/;

/** The ```bash blocks of a markdown text, each with the skip reason written on the line above it, if any. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(bash|sh|shell)\s*$/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    let above = start - 1;
    while (above >= 0 && !lines[above]!.trim()) above--;
    const skip = above >= 0 ? SKIP.exec(lines[above]!.trim())?.[1] : undefined;
    blocks.push({ line: start + 1, code: body.join('\n'), ...(skip !== undefined ? { skip: skip || 'no reason given' } : {}) });
  }
  return blocks;
}

/**
 * The commands of a block, one per entry: continuation lines joined, comment-only and blank lines dropped. Each
 * runs on its own, so that a failure anywhere in `a && b` fails the test (bash -e forgives a failing `a`).
 */
export function blockCommands(code: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const line of code.split('\n')) {
    cur += line;
    if (cur.endsWith('\\')) { cur = cur.slice(0, -1) + ' '; continue; }
    if (cur.trim() && !cur.trim().startsWith('#')) out.push(cur.trim());
    cur = '';
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const PRINTS = /\s#\s+prints\s+(.+?)\s*$/;

/** What a command's trailing `# prints TEXT` comment says its output contains, if it has one. */
export function expectedOutput(cmd: string): string | undefined {
  return PRINTS.exec(cmd)?.[1];
}

test('expectedOutput reads a trailing "# prints" comment, and only that', () => {
  assert.equal(expectedOutput('./rag snapshot show x   # prints base y: 4233 passages reused, 49 encoded'), 'base y: 4233 passages reused, 49 encoded');
  assert.equal(expectedOutput('./rag snapshot show x   # the manifest'), undefined);
  assert.equal(expectedOutput('./rag search --query "# prints nothing"'), undefined);
});

test('blockCommands joins continued lines and drops comments', () => {
  assert.deepEqual(blockCommands('# set-up\n./rag a --x 1 \\\n  --y 2   # why\n\n./rag b && ./rag c'), ['./rag a --x 1    --y 2   # why', './rag b && ./rag c']);
});

test('readmeBlocks finds bash blocks and their skip markers', () => {
  const md = ['# t', '```bash', 'echo a', '```', '', '<!-- readme-test: skip (needs S3) -->', '```bash', 'echo b', 'echo c', '```', '```', 'not shell', '```'].join('\n');
  assert.deepEqual(readmeBlocks(md), [
    { line: 2, code: 'echo a' },
    { line: 7, code: 'echo b\necho c', skip: '(needs S3)' },
  ]);
});

const dir = tempDir('readme');
after(() => dir.cleanup());

/** Like a user's shell: no REDIS_URL, RAG_* or AWS_* from the test's environment (embedded defaults). */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('RAG_') && k !== 'REDIS_URL' && !k.startsWith('AWS_')) env[k] = v;
  }
  return env;
}

function sh(code: string, cwd: string, timeoutMs: number): Promise<RagResult> {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', code], { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child, timeoutMs);
}

test('every command block of the README runs as written, in order, after the demo', { skip: !hasWorldModels && 'the trained world models are missing (npm run models)', timeout: 3_600_000 }, async () => {
  const blocks = readmeBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'));
  const run = blocks.filter((b) => !b.skip);
  assert.ok(run.length >= 4, 'the README should have runnable command blocks');
  // The set-up block is skipped because this test stands in for it: it must be the demo.
  assert.match(blocks[0]!.code, /npm run demo/);
  assert.ok(blocks[0]!.skip);

  // A clone's layout: the repository as the working directory (./rag), the shared data beside it.
  const clone = join(dir.path, 'rag-pipeline');
  mkdirSync(clone);
  symlinkSync(resolve(REPO, '../shared'), join(dir.path, 'shared'));
  writeFileSync(join(clone, 'rag'), `#!/usr/bin/env bash\nexec ${JSON.stringify(join(REPO, 'rag'))} "$@"\n`);
  chmodSync(join(clone, 'rag'), 0o755);

  // `npm run demo` is `./rag demo`; the world part with a smaller world (same seed, so the same names) keeps this
  // test to minutes. Its enwiki part runs as a user's does: the README's own build of that dump finds its work.
  const demo = await sh('./rag demo --countries 20 --questions 100', clone, 1_200_000);
  assert.equal(demo.code, 0, `demo failed:\n${demo.stdout}\n${demo.stderr}`);
  assert.ok(existsSync(join(clone, '.rag/demo/world-142/questions.jsonl')), demo.stdout);
  assert.match(demo.stdout, /enwiki-2016-sample: 4424 passages/);

  let checked = 0;
  for (const b of run) {
    for (const cmd of blockCommands(b.code)) {
      const started = Date.now();
      const r = await sh(cmd, clone, 1_200_000);
      const took = ((Date.now() - started) / 1000).toFixed(0);
      process.stderr.write(`# README.md:${b.line} ${cmd.slice(0, 80)}: ${took} s, exit ${r.code}\n`);
      assert.equal(r.code, 0, `README.md:${b.line}: failed (exit ${r.code}):\n${cmd}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`);
      // The figures the README quotes are the ones the command prints.
      const expected = expectedOutput(cmd);
      if (expected !== undefined) {
        // Compared with runs of blanks as one space: the CLI aligns columns, the README need not.
        const output = r.stdout + r.stderr;
        const squeeze = (t: string) => t.replace(/[ \t]+/g, ' ');
        assert.ok(squeeze(output).includes(squeeze(expected)), `README.md:${b.line}: the README says this prints "${expected}", it printed:\n${output.slice(-3000)}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 3, `${checked} "# prints" comments checked`);
  // Nothing was written into the working directory but ./.rag (and the clone's ./rag).
  assert.deepEqual(readdirSync(clone).sort(), ['.rag', 'rag']);
});
