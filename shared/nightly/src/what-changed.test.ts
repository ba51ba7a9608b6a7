// explainChanges lists only the questions whose answer (retrieve-only: top-1 passage) changed, with the edited
// passages among either arm's retrieved documents as causes; causeSummary groups those causes by page in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { causeSummary, explainChanges, type ChangeRecord, type PassageEdit } from './what-changed.js';

const doc = (id: string, title = `T ${id}`, score = 1) => ({ id, title, score });
const rec = (id: string, answer: string, docIds: string[], extra: Partial<ChangeRecord> = {}): ChangeRecord => ({
  id, question: `question ${id}?`, answer, docs: docIds.map((d) => doc(d)), ...extra,
});
const edits: ReadonlyMap<string, PassageEdit> = new Map<string, PassageEdit>([
  ['lak#1', { kind: 'changed', page: 'lakvik', title: 'Lakvik' }],
  ['thu#0', { kind: 'removed', page: 'thundheim', title: 'Thundheim' }],
  ['thu#1', { kind: 'removed', page: 'thundheim', title: 'Thundheim' }],
  ['new#0', { kind: 'added', page: 'nordhavn', title: 'Nordhavn' }],
]);

test('a changed answer is found and its causes are the edited passages among either arm\'s documents', () => {
  const a = [rec('q1', 'Thundheim', ['thu#0', 'x#1', 'lak#1'], { gold_rank: 1 })];
  const b = [rec('q1', 'Nordhavn', ['new#0', 'lak#1', 'y#2'], { gold_rank: null })];
  const out = explainChanges(a, b, edits, { retrieveOnly: false });
  assert.equal(out.length, 1);
  const c = out[0]!;
  assert.equal(c.id, 'q1');
  assert.equal(c.question, 'question q1?');
  assert.deepEqual(c.a, { answer: 'Thundheim', top: { id: 'thu#0', title: 'T thu#0' }, goldRank: 1 });
  assert.deepEqual(c.b, { answer: 'Nordhavn', top: { id: 'new#0', title: 'T new#0' }, goldRank: null });
  // A's documents first, then B's; lak#1 is retrieved by both and listed once (from A).
  assert.deepEqual(c.causes, [
    { passage: 'thu#0', kind: 'removed', page: 'thundheim', title: 'Thundheim', arm: 'a' },
    { passage: 'lak#1', kind: 'changed', page: 'lakvik', title: 'Lakvik', arm: 'a' },
    { passage: 'new#0', kind: 'added', page: 'nordhavn', title: 'Nordhavn', arm: 'b' },
  ]);
});

test('unchanged answers (up to case and whitespace) are omitted, even when edited passages were retrieved', () => {
  const a = [rec('q1', 'Oslo', ['lak#1']), rec('q2', '  the  Lakvik fjord ', ['thu#0'])];
  const b = [rec('q1', 'oslo', ['lak#1']), rec('q2', 'The Lakvik\nfjord', ['new#0'])];
  assert.deepEqual(explainChanges(a, b, edits, { retrieveOnly: false }), []);
});

test('a change with no edited passage retrieved is a ranking shift: listed with no causes', () => {
  const out = explainChanges([rec('q1', 'Oslo', ['x#1', 'y#2'])], [rec('q1', 'Bergen', ['y#2', 'z#3'])], edits, { retrieveOnly: false });
  assert.equal(out.length, 1);
  assert.deepEqual(out[0]!.causes, []);
  assert.equal(causeSummary(out[0]!.causes), 'ranking shift: no retrieved passage was edited');
});

test('questions missing from B, or that failed on either arm, are skipped; output follows A\'s order', () => {
  const a = [rec('q3', 'c', ['x#1']), rec('q1', 'a', ['x#1']), rec('q2', 'b', ['x#1']), rec('q4', 'd', ['x#1']), rec('q5', 'e', ['x#1'])];
  const b = [
    rec('q1', 'A!', ['x#1']), rec('q2', 'B!', ['x#1'], { error: 'generator timed out' }), rec('q3', 'C!', ['x#1']),
    rec('q5', 'E!', ['x#1']), rec('q9', 'Z', ['x#1']),
  ];
  const a2 = a.map((r) => (r.id === 'q5' ? { ...r, error: 'boom' } : r));
  assert.deepEqual(explainChanges(a2, b, edits, { retrieveOnly: false }).map((c) => c.id), ['q3', 'q1']);
});

test('a record with no documents has no top passage', () => {
  const out = explainChanges([rec('q1', 'x', [])], [rec('q1', 'y', ['new#0'])], edits, { retrieveOnly: false });
  assert.equal('top' in out[0]!.a, false);
  assert.equal('goldRank' in out[0]!.a, false);
  assert.deepEqual(out[0]!.b.top, { id: 'new#0', title: 'T new#0' });
});

test('retrieve-only compares the top-1 passage, and counts a top-1 passage whose text changed', () => {
  const a = [
    rec('moved', '', ['thu#0', 'x#1']), // top-1 differs
    rec('edited', '', ['lak#1', 'x#1']), // same top-1, its text changed
    rec('same', '', ['x#1', 'thu#1']), // same unedited top-1; an edited passage lower down does not count
    rec('empty', '', []), // no documents either side: nothing changed
  ];
  const b = [
    rec('moved', '', ['x#1', 'new#0']),
    rec('edited', '', ['lak#1', 'x#1']),
    rec('same', '', ['x#1', 'new#0']),
    rec('empty', '', []),
  ];
  const out = explainChanges(a, b, edits, { retrieveOnly: true });
  assert.deepEqual(out.map((c) => c.id), ['moved', 'edited']);
  assert.deepEqual(out[0]!.a.top, { id: 'thu#0', title: 'T thu#0' });
  assert.deepEqual(out[0]!.b.top, { id: 'x#1', title: 'T x#1' });
  assert.deepEqual(out[0]!.causes.map((c) => [c.passage, c.arm]), [['thu#0', 'a'], ['new#0', 'b']]);
  assert.deepEqual(out[1]!.causes.map((c) => [c.passage, c.kind]), [['lak#1', 'changed']]);
  // A top-1 appearing on only one side also counts.
  assert.equal(explainChanges([rec('q', '', [])], [rec('q', '', ['x#1'])], edits, { retrieveOnly: true }).length, 1);
  // In retrieve-only mode different answers alone do not count (there is no generator).
  assert.deepEqual(explainChanges([rec('q', 'a', ['x#1'])], [rec('q', 'b', ['x#1'])], edits, { retrieveOnly: true }), []);
});

test('causeSummary groups causes by page and kind, counts passages, and cuts after max pages', () => {
  const cause = (passage: string, kind: PassageEdit['kind'], page: string, title: string) => ({ passage, kind, page, title, arm: 'a' as const });
  assert.equal(causeSummary([
    cause('thu#0', 'removed', 'thundheim', 'Thundheim'),
    cause('lak#1', 'changed', 'lakvik', 'Lakvik'),
    cause('thu#1', 'removed', 'thundheim', 'Thundheim'),
    cause('thu#2', 'removed', 'thundheim', 'Thundheim'),
  ]), 'removed Thundheim (3 passages), changed Lakvik');
  const many = Array.from({ length: 7 }, (_, i) => cause(`p${i}#0`, 'added', `p${i}`, `Page ${i}`));
  assert.equal(causeSummary(many), 'added Page 0, added Page 1, added Page 2, added Page 3; +3 more page(s)');
  assert.equal(causeSummary(many, 2), 'added Page 0, added Page 1; +5 more page(s)');
  assert.equal(causeSummary(many.slice(0, 4)), 'added Page 0, added Page 1, added Page 2, added Page 3');
});
