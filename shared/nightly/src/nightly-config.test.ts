// loadNightlyConfig reads nightly.json / nightly.yaml with defaults, resolves relative paths against the file,
// records the file's sha256, and refuses unknown keys and inconsistent gate or retention settings (ConfigError).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { ConfigError } from '@rag/core';
import { loadNightlyConfig } from './nightly-config.js';

let dir: string;
let n = 0;
before(() => { dir = mkdtempSync(join(tmpdir(), 'rag-nightly-config-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` to a fresh file in its own sub-directory and returns its path. */
function file(name: string, text: string): string {
  const sub = join(dir, `c${n++}`);
  mkdirSync(sub);
  const p = join(sub, name);
  writeFileSync(p, text);
  return p;
}

const minimal = (o: Record<string, unknown> = {}, gate: Record<string, unknown> = {}) => JSON.stringify({
  version: 1,
  alias: 'prod',
  snapshotPrefix: 'night',
  source: { pattern: 'dumps/enwiki-{yyyymmdd}-pages-articles.xml.bz2' },
  gate: { questions: 'canary.jsonl', ...gate },
  ...o,
}, null, 2);

/** Expects a ConfigError whose message matches every pattern. */
async function refused(path: string, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(loadNightlyConfig(path), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    for (const re of patterns) assert.match(err.message, re);
    return true;
  });
}

test('a minimal JSON file loads with defaults, paths relative to the file and the file\'s sha256', async () => {
  const p = file('nightly.json', minimal());
  const { config, path, sha256 } = await loadNightlyConfig(p);
  const here = join(p, '..');
  assert.equal(path, p);
  assert.equal(sha256, createHash('sha256').update(readFileSync(p)).digest('hex'));
  assert.deepEqual(config.source, { pattern: join(here, 'dumps/enwiki-{yyyymmdd}-pages-articles.xml.bz2') });
  assert.deepEqual(config.gate, {
    questions: join(here, 'canary.jsonl'),
    mode: 'retrieve-only', k: 20, beams: 4, maxDrop: { 'hits@20': 1 }, alpha: 0.05, minQuestions: 50,
  });
  assert.deepEqual(config.retention, { keepNights: 7, keepAliasVersions: 2, gcGraceHours: 24 });
  assert.deepEqual(config.build, {});
  assert.equal(config.schedule, undefined);
});

test('relative paths resolve against the file\'s directory, not the working directory', async () => {
  const p = file('nightly.json', minimal());
  const rel = relative(process.cwd(), p); // loaded through a relative path from the working directory
  assert.ok(!isAbsolute(rel));
  const viaRelative = await loadNightlyConfig(rel);
  assert.equal(viaRelative.config.gate.questions, join(p, '..', 'canary.jsonl'));
  assert.equal(viaRelative.path, p);
});

test('a YAML file loads too; absolute paths and s3:// URLs are kept as they are', async () => {
  const p = file('nightly.yaml', [
    'version: 1',
    'alias: prod',
    'snapshotPrefix: enwiki',
    'source:',
    '  newestUnder: s3://dumps/enwiki/',
    '  match: "pages-articles.*\\\\.xml\\\\.bz2$"',
    'gate:',
    '  questions: /data/canary.jsonl',
    '  mode: rag-token',
    '  k: 50',
    '  maxDrop: { hits@50: 2, em: 1.5, f1: 1 }',
    'retention:',
    '  keepNights: 3',
    'schedule:',
    '  cron: "0 2 * * *"',
    '  tz: Europe/Oslo',
    'build:',
    '  workers: 4',
    '',
  ].join('\n'));
  const { config, sha256 } = await loadNightlyConfig(p);
  assert.deepEqual(config.source, { newestUnder: 's3://dumps/enwiki/', match: 'pages-articles.*\\.xml\\.bz2$' });
  assert.equal(config.gate.questions, '/data/canary.jsonl');
  assert.deepEqual(config.gate.maxDrop, { 'hits@50': 2, em: 1.5, f1: 1 });
  assert.equal(config.gate.k, 50);
  assert.deepEqual(config.retention, { keepNights: 3, keepAliasVersions: 2, gcGraceHours: 24 });
  assert.deepEqual(config.schedule, { cron: '0 2 * * *', tz: 'Europe/Oslo' });
  assert.deepEqual(config.build, { workers: 4 });
  assert.equal(sha256, createHash('sha256').update(readFileSync(p)).digest('hex'));
  // A relative newestUnder is resolved like the pattern.
  const q = file('nightly.yml', minimal({ source: { newestUnder: 'dumps' } }));
  assert.deepEqual((await loadNightlyConfig(q)).config.source, { newestUnder: join(q, '..', 'dumps') });
});

test('unknown keys are refused with their path, at the top and nested', async () => {
  await refused(file('nightly.json', minimal({ shedule: { cron: '0 2 * * *' } })), /\(top\): Unrecognized key: "shedule"/);
  await refused(file('nightly.json', minimal({}, { maxdrop: { 'hits@20': 1 } })), /gate: Unrecognized key: "maxdrop"/);
  await refused(file('nightly.json', minimal({ retention: { keepNight: 3 } })), /retention: Unrecognized key: "keepNight"/);
  await refused(file('nightly.json', minimal({ source: { pattern: 'x', match: 'y' } })), /source: Unrecognized key: "match"/);
});

test('gate metrics must fit the gate: hits@K needs K <= gate.k, em/f1 need a generator, unknown metrics are refused', async () => {
  await refused(file('nightly.json', minimal({}, { maxDrop: { 'hits@50': 1 } })), /gate\.maxDrop hits@50 needs gate\.k >= 50 \(now 20\)/);
  await refused(file('nightly.json', minimal({}, { k: 10 })), /hits@20 needs gate\.k >= 20 \(now 10\)/); // the default maxDrop
  await refused(file('nightly.json', minimal({}, { maxDrop: { em: 1 } })), /gate\.maxDrop em needs a generator/);
  await refused(file('nightly.json', minimal({}, { maxDrop: { f1: 1 }, mode: 'retrieve-only' })), /gate\.maxDrop f1 needs a generator/);
  await refused(file('nightly.json', minimal({}, { maxDrop: { 'recall@5': 1 } })), /unknown gate metric recall@5/);
  await refused(file('nightly.json', minimal({}, { maxDrop: { 'hits@20': -1 } })), /gate\.maxDrop/);
  const ok = await loadNightlyConfig(file('nightly.json', minimal({}, { maxDrop: { 'hits@20': 1, em: 1, f1: 2 }, mode: 'rag-sequence' })));
  assert.deepEqual(ok.config.gate.maxDrop, { 'hits@20': 1, em: 1, f1: 2 });
});

test('retention.gcGraceHours: 0 (one pass) and 1/6 or more are accepted, a few minutes is refused', async () => {
  await refused(file('nightly.json', minimal({ retention: { gcGraceHours: 0.05 } })), /retention\.gcGraceHours 0\.05 is shorter than 10 minutes/);
  const zero = await loadNightlyConfig(file('nightly.json', minimal({ retention: { gcGraceHours: 0 } })));
  // A partial retention block is filled with the other defaults.
  assert.deepEqual(zero.config.retention, { keepNights: 7, keepAliasVersions: 2, gcGraceHours: 0 });
  assert.equal((await loadNightlyConfig(file('nightly.json', minimal({ retention: { gcGraceHours: 1 / 6 } })))).config.retention.gcGraceHours, 1 / 6);
  await refused(file('nightly.json', minimal({ retention: { gcGraceHours: -1 } })), /retention\.gcGraceHours/);
});

test('invalid values, a wrong version, bad syntax and a missing file are ConfigErrors', async () => {
  await refused(file('nightly.json', minimal({ alias: 'Prod!' })), /alias/);
  await refused(file('nightly.json', minimal({ version: 2 })), /version/);
  await refused(file('nightly.json', minimal({}, { alpha: 1 })), /gate\.alpha/);
  await refused(file('nightly.json', minimal({}, { mode: 'rag-fast' })), /gate\.mode/);
  await refused(file('nightly.json', '{"version": 1,'), /is not valid JSON/);
  await refused(file('nightly.yaml', 'version: [1\n'), /is not valid YAML/);
  await refused(join(dir, 'nope', 'nightly.json'), /cannot read the nightly configuration .*nightly\.json: ENOENT/);
});
