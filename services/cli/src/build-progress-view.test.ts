import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { BuildProgress } from '@rag/pipeline';
import { BuildProgressView, PROGRESS_LINE_INTERVAL_MS } from './build-progress-view.js';

/** A redirected stderr (not a terminal) that keeps what was written. */
function redirected(): { stream: Writable & { isTTY: false }; lines: () => string[] } {
  let text = '';
  const stream = Object.assign(new Writable({ write(chunk, _enc, done) { text += chunk; done(); } }), { isTTY: false as const });
  return { stream, lines: () => text.split('\n').filter(Boolean) };
}

// A 4233-passage build in 3 shards, polled every 100 ms for 90 s as waitForBuild does.
function* build(): Generator<[number, BuildProgress]> {
  const passages = 4233;
  for (let t = 0; t <= 90_000; t += 100) {
    const ingested = Math.min(passages, Math.floor(t / 10));
    const ingestDone = t >= 42_400;
    const vectors = ingestDone ? Math.min(passages, Math.floor((t - 42_400) / 10)) : 0;
    const shardsIndexed = Math.min(3, Math.floor(vectors / 1411));
    yield [t, { passages: ingested, shardsIngested: Math.ceil(ingested / 2000), ingestDone, totalShards: ingestDone ? 3 : 0, vectors, shardsIndexed }];
  }
}

test('redirected, a build prints a few lines and the last one is where it ended', () => {
  const out = redirected();
  let now = 0;
  const view = new BuildProgressView(out.stream, true, () => now);
  let last: BuildProgress | undefined;
  for (const [t, p] of build()) {
    now = t;
    view.update(p);
    last = p;
  }
  view.finish(last!);
  const lines = out.lines();
  assert.ok(lines.length <= 90_000 / PROGRESS_LINE_INTERVAL_MS + 3, lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('(ingest done), vectors 0')), 'a line when ingest finishes');
  assert.equal(lines.at(-1), 'progress: passages 4233 (ingest done), vectors 4233 in shards being built, shards built 3/3');
  assert.equal(lines.filter((l) => l.endsWith('3/3')).length, 1, 'the final state once');
});

test('finish prints the final state even right after a throttled line', () => {
  const out = redirected();
  let now = 0;
  const view = new BuildProgressView(out.stream, true, () => now);
  now = PROGRESS_LINE_INTERVAL_MS;
  view.update({ passages: 10, shardsIngested: 1, ingestDone: true, totalShards: 3, vectors: 5, shardsIndexed: 2 });
  now += 50; // the build published 50 ms later: no interval has passed, no stage line either
  view.finish({ passages: 10, shardsIngested: 1, ingestDone: true, totalShards: 3, vectors: 10, shardsIndexed: 3 });
  assert.deepEqual(out.lines(), [
    'progress: passages 10 (ingest done), vectors 5 in shards being built, shards built 2/3',
    'progress: passages 10 (ingest done), vectors 10 in shards being built, shards built 3/3',
  ]);
});

test('--no-progress prints nothing', () => {
  const out = redirected();
  const view = new BuildProgressView(out.stream, false);
  view.update({ passages: 1, shardsIngested: 1, ingestDone: true, totalShards: 1, vectors: 1, shardsIndexed: 1 });
  view.finish({ passages: 1, shardsIngested: 1, ingestDone: true, totalShards: 1, vectors: 1, shardsIndexed: 1 });
  assert.deepEqual(out.lines(), []);
});
