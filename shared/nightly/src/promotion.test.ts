// Acting on a gate decision: a pass flips the alias with compare-and-set on the version the gate evaluated
// and records who and which gate on the version; a hold flips nothing; a flip made by someone else while the
// gate ran (between reading the alias and flipping it) makes the promotion fail in one line, not overwrite it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AliasRegistry } from '@rag/registry';
import { publishManifestOnly } from '@rag/registry/testing';
import { LocalObjectStore } from '@rag/storage';
import { applyGateDecision } from './promotion.js';
import { evaluateGate, type GateInput } from './quality-gate.js';
import { gateRecordSchema, gatesPrefix } from './night-record.js';
import { PromotionConflictError } from './nightly-errors.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'rag-promote-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

/** n questions, each a hit at rank 1 in the first `hits` of them. */
const arm = (n: number, hits: number): GateInput[] => Array.from({ length: n }, (_, i) => ({ id: `q${i}`, k: 20, gold_rank: i < hits ? 1 : null }));
const opts = { maxDrop: { 'hits@20': 1 }, alpha: 0.05, minQuestions: 50 };

async function setup(name: string) {
  const store = new LocalObjectStore(join(dir, name));
  for (const id of ['night-1', 'night-2', 'hotfix']) await publishManifestOnly(store, id);
  const aliases = new AliasRegistry({ store });
  await aliases.set('prod', 'night-1', { by: 'test' });
  return { store, aliases };
}

test('a pass flips with compare-and-set and records who and the gate on the version', async () => {
  const { store, aliases } = await setup('pass');
  const served = (await aliases.get('prod'))!;
  const result = evaluateGate(arm(100, 80), arm(100, 80), opts);
  assert.equal(result.passed, true);
  const g = await applyGateDecision({ store, aliases, alias: 'prod', candidate: 'night-2', baseline: { snapshot: served.snapshot, version: served.version }, result, by: 'nightly test' });
  assert.equal(g.outcome, 'promoted');
  const now = (await aliases.get('prod'))!;
  assert.deepEqual([now.snapshot, now.version, now.by, now.gate?.key], ['night-2', 2, 'nightly test', g.key]);
  assert.match(now.gate!.summary, /^pass: hits@20 80\.0 -> 80\.0/);
  assert.equal(gateRecordSchema.parse(JSON.parse((await store.get(g.key)).toString())).aliasVersion, 2);
});

test('a hold flips nothing and is recorded with the failed threshold', async () => {
  const { store, aliases } = await setup('hold');
  const served = (await aliases.get('prod'))!;
  const result = evaluateGate(arm(200, 160), arm(200, 60), opts);
  const g = await applyGateDecision({ store, aliases, alias: 'prod', candidate: 'night-2', baseline: { snapshot: served.snapshot, version: 1 }, result, by: 'nightly test' });
  assert.equal(g.outcome, 'held');
  assert.equal((await aliases.get('prod'))!.snapshot, 'night-1');
  assert.match(g.reasons[0]!, /^hits@20 80\.0 -> 30\.0 \(-50\.0 pts, limit -1, p<0\.001, n=200\): held/);
  assert.deepEqual(await store.list(gatesPrefix('prod')), [g.key]);
});

test('a manual alias set while the gate ran: the promotion fails in one line and the manual flip stays', async () => {
  const { store, aliases } = await setup('race');
  // The gate reads what prod serves (version 1), then evaluates for a while...
  const served = (await aliases.get('prod'))!;
  const result = evaluateGate(arm(100, 80), arm(100, 81), opts);
  // ...and in that gap an operator flips prod by hand, through another registry (another process).
  await new AliasRegistry({ store }).set('prod', 'hotfix', { by: 'alice@ops' });
  await assert.rejects(
    applyGateDecision({ store, aliases, alias: 'prod', candidate: 'night-2', baseline: { snapshot: served.snapshot, version: served.version }, result, by: 'nightly test' }),
    (err: unknown) => {
      assert.ok(err instanceof PromotionConflictError);
      assert.equal(err.oneLine().includes('\n'), false);
      assert.match(err.message, /not promoted: alias prod moved while night-2 was being evaluated \(was version 1 \(night-1\), now version 2 -> hotfix by alice@ops\)/);
      return true;
    },
  );
  const now = (await aliases.get('prod'))!;
  assert.deepEqual([now.snapshot, now.version], ['hotfix', 2], 'the manual flip is not overwritten');
  const [key] = await store.list(gatesPrefix('prod'));
  assert.equal(gateRecordSchema.parse(JSON.parse((await store.get(key!)).toString())).outcome, 'conflict');
});

test('the first night creates the alias (version 0 expected); a second first-night promotion conflicts', async () => {
  const store = new LocalObjectStore(join(dir, 'first'));
  await publishManifestOnly(store, 'night-1');
  await publishManifestOnly(store, 'night-2');
  const aliases = new AliasRegistry({ store });
  const g = await applyGateDecision({ store, aliases, alias: 'prod', candidate: 'night-1', by: 'nightly test' });
  assert.equal(g.outcome, 'promoted');
  assert.match(g.summary, /first night/);
  await assert.rejects(applyGateDecision({ store, aliases, alias: 'prod', candidate: 'night-2', by: 'nightly test' }), PromotionConflictError);
});
