// One behaviour for every usage mistake in every command: one line naming the mistake and the command's --help,
// exit status 2 (as the errors our commands throw), never commander's page of help with status 1. Help marks
// required options and shows every default. The command tree is walked, so a new command or option is covered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { program } from '../services/cli/src/main.js';
import { allCommands, commandPath } from '../services/cli/src/usage-conventions.js';
import { WORLD_DEFAULTS } from '@rag/world';
import { REPO, runRag, type RagResult } from './helpers/run-rag.js';

const commands = allCommands(program);
const leaves = commands.filter((c) => c.commands.length === 0);
const words = (c: Command) => commandPath(c).split(' ').slice(1);
const takesValue = (o: Option) => o.required || o.optional;

/** Runs many ./rag invocations a few at a time (each is a short process). */
async function runAll(cases: string[][]): Promise<Map<string, RagResult>> {
  const results = new Map<string, RagResult>();
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < cases.length) {
      const args = cases[next++]!;
      results.set(args.join(' '), await runRag(args, { RAG_HOME: '/nonexistent/rag-usage-test' }, { timeoutMs: 60_000 }));
    }
  }));
  return results;
}

function assertUsageError(args: string[], r: RagResult, where: Command, what?: RegExp): void {
  const shown = `./rag ${args.join(' ')}: exit ${r.code}\n${r.stderr}`;
  assert.equal(r.code, 2, shown);
  assert.equal(r.stdout, '', shown);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length <= 2, `more than two lines: ${shown}`);
  assert.match(lines[0]!, /^rag: /, shown);
  assert.ok(r.stderr.includes(`see ./${commandPath(where)} --help`), shown);
  if (what) assert.match(r.stderr, what, shown);
}

test('the command tree is complete enough to test', () => {
  assert.ok(leaves.length >= 20, leaves.map(commandPath).join(', '));
  for (const name of ['rag snapshot build', 'rag ab', 'rag world generate', 'rag qa run', 'rag explain', 'rag sweep-k']) {
    assert.ok(commands.some((c) => commandPath(c) === name), name);
  }
});

test('help marks every required option and shows a default (or says there is none) for every other value option', () => {
  const missing: string[] = [];
  for (const cmd of commands) {
    const help = cmd.createHelp();
    for (const o of cmd.options) {
      const text = help.optionDescription(o);
      if (o.mandatory && !text.includes('(required)')) missing.push(`${commandPath(cmd)} ${o.flags}: not marked required`);
      if (!o.mandatory && takesValue(o) && !/default|required/.test(text)) missing.push(`${commandPath(cmd)} ${o.flags}: no default shown: ${text}`);
    }
  }
  assert.deepEqual(missing, []);
  const ab = commands.find((c) => commandPath(c) === 'rag ab')!;
  assert.match(ab.helpInformation(), /--out <file>\s+HTML report path \(required\)/);
  const world = commands.find((c) => commandPath(c) === 'rag world generate')!;
  const worldHelp = world.helpInformation();
  assert.match(worldHelp, /--seed <n>.*\(required\)/);
  // The defaults shown are the library's own.
  assert.match(worldHelp, new RegExp(`--countries <n>\\s+number of countries \\(default: ${WORLD_DEFAULTS.countries}\\)`));
  assert.match(worldHelp, new RegExp(`--questions <n>\\s+number of questions \\(default: ${WORLD_DEFAULTS.questions}\\)`));
});

test('--version prints the version in package.json; --help exits 0 for every command', { timeout: 600_000 }, async () => {
  const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const v = await runRag(['--version'], {});
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, `${version}\n`);
  const cases = commands.map((c) => [...words(c), '--help']);
  const results = await runAll(cases);
  for (const args of cases) {
    const r = results.get(args.join(' '))!;
    assert.equal(r.code, 0, `./rag ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: rag/);
  }
});

test('every usage error in every command is one or two lines with exit 2', { timeout: 900_000 }, async () => {
  const cases: { args: string[]; where: Command; what: RegExp }[] = [];
  for (const cmd of leaves) {
    const w = words(cmd);
    const required = cmd.options.filter((o) => o.mandatory);
    // Fill required options and arguments with something, so that the mistake under test is the only one.
    const filled = [...cmd.registeredArguments.filter((a) => a.required).map(() => '1'), ...required.flatMap((o) => [o.long!, '1'])];
    cases.push({ args: [...w, ...filled, '--no-such-option'], where: cmd, what: /unknown option '--no-such-option'/ });
    if (required.length) cases.push({ args: w, where: cmd, what: /required option '--\S+ <[^>]+>' not specified/ });
    if (cmd.registeredArguments.some((a) => a.required)) cases.push({ args: [...w, ...required.flatMap((o) => [o.long!, '1'])], where: cmd, what: /missing required argument/ });
    for (const o of cmd.options) {
      // Options with a parser (integers, numbers) or a fixed set of choices reject a word.
      if (!takesValue(o) || (!o.parseArg && !o.argChoices)) continue;
      cases.push({ args: [...w, o.long!, 'not-a-value'], where: cmd, what: new RegExp(`option '${o.flags}' argument 'not-a-value' is invalid`) });
    }
  }
  for (const group of commands.filter((c) => c.commands.length > 0)) {
    cases.push({ args: [...words(group), 'no-such-command'], where: group, what: /unknown command 'no-such-command'/ });
  }
  const results = await runAll(cases.map((c) => c.args));
  for (const c of cases) assertUsageError(c.args, results.get(c.args.join(' '))!, c.where, c.what);
  assert.ok(cases.length > 60, `only ${cases.length} cases`);
});

test('a bare command group prints its help and exits 2; errors from our own checks keep the same shape', { timeout: 120_000 }, async () => {
  const bare = await runRag(['snapshot'], {});
  assert.equal(bare.code, 2);
  assert.match(bare.stderr, /Usage: rag snapshot/);
  // A bad value our command checks itself (not commander): also one line, exit 2.
  const own = await runRag(['sweep-k', '--questions', 'q.jsonl', '--snapshot', 's', '--k', '0,1'], { RAG_HOME: '/nonexistent/rag-usage-test' });
  assert.equal(own.code, 2, own.stderr);
  assert.equal(own.stderr.trimEnd().split('\n').length, 1, own.stderr);
  assert.match(own.stderr, /^rag: --k 0,1: expected a comma-separated list/);
});
