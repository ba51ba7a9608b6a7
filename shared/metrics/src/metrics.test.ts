import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RagError } from '@rag/core';
import { AliasRegistry, LiveSnapshot } from '@rag/registry';
import { publishManifestOnly } from '@rag/registry/testing';
import { LocalObjectStore } from '@rag/storage';
import { createMetricsRegistry, createQaMetrics, startMetricsServer, timeStage, trackLiveSnapshot, type MetricsServer } from './index.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'rag-metrics-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

/** The value of one series in Prometheus text (labels in any order), or undefined. */
function sample(text: string, series: string): number | undefined {
  const key = (s: string) => {
    const m = /^([^{ ]+)(?:\{(.*)\})?$/.exec(s);
    return `${m?.[1]}{${(m?.[2] ?? '').split(',').filter(Boolean).sort().join(',')}}`;
  };
  const want = key(series);
  for (const line of text.split('\n')) {
    const cut = line.lastIndexOf(' ');
    if (cut > 0 && !line.startsWith('#') && key(line.slice(0, cut)) === want) return Number(line.slice(cut + 1));
  }
  return undefined;
}

describe('metrics', () => {
  let server: MetricsServer;
  after(async () => { await server?.close(); });

  it('serves /metrics with QA counters, histograms, process metrics and a followed snapshot', async () => {
    const registry = createMetricsRegistry({ labels: { service: 'test' } });
    const m = createQaMetrics(registry);
    server = await startMetricsServer({ port: 0, registry });
    assert.ok(server.port > 0);

    m.questionsAnswered.inc({ snapshot: 'snap-a' }, 3);
    m.questionsFailed.inc({ code: 'MODEL_LOAD' });
    const done = timeStage(m, 'retrieve');
    await new Promise((r) => setTimeout(r, 20));
    const seconds = done();
    assert.ok(seconds >= 0.015);

    // A real follower over real storage, flipped once.
    const store = new LocalObjectStore(join(dir, 'store'));
    await publishManifestOnly(store, 'snap-a');
    await publishManifestOnly(store, 'snap-b');
    const aliases = new AliasRegistry({ store });
    await aliases.set('prod', 'snap-a');
    const live = new LiveSnapshot<string>({ alias: 'prod', registry: aliases, pollMs: 0, load: async (id) => { await new Promise((r) => setTimeout(r, 30)); return id; } });
    const untrack = trackLiveSnapshot(live, m);
    await live.start();

    let text = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(sample(text, 'rag_qa_questions_answered_total{snapshot="snap-a",service="test"}'), 3);
    assert.equal(sample(text, 'rag_qa_questions_failed_total{code="MODEL_LOAD",service="test"}'), 1);
    assert.equal(sample(text, 'rag_qa_question_duration_seconds_count{stage="retrieve",service="test"}'), 1);
    assert.equal(sample(text, 'rag_snapshot_serving{alias="prod",snapshot="snap-a",service="test"}'), 1);
    assert.equal(sample(text, 'rag_snapshot_alias_version{alias="prod",service="test"}'), 1);
    assert.ok((sample(text, 'rag_process_resident_memory_bytes{service="test"}') ?? 0) > 0, 'process metrics present');

    await aliases.set('prod', 'snap-b');
    await live.refresh();
    text = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(sample(text, 'rag_snapshot_switches_total{alias="prod",service="test"}'), 1);
    assert.equal(sample(text, 'rag_snapshot_serving{alias="prod",snapshot="snap-b",service="test"}'), 1);
    assert.equal(sample(text, 'rag_snapshot_serving{alias="prod",snapshot="snap-a",service="test"}'), undefined, 'old snapshot gone');
    assert.equal(sample(text, 'rag_snapshot_alias_version{alias="prod",service="test"}'), 2);
    const switchSum = sample(text, 'rag_snapshot_switch_seconds_sum{alias="prod",service="test"}') ?? 0;
    assert.ok(switchSum >= 0.025 && switchSum < 2, `switch seconds ${switchSum}`);

    untrack();
    await live.stop();
    text = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(sample(text, 'rag_snapshot_alias_version{alias="prod",service="test"}'), undefined, 'untracked follower is not reported');

    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
  });

  it('a taken port is a RagError with a hint', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(startMetricsServer({ port, registry: createMetricsRegistry({ defaultMetrics: false }) }),
        (e: unknown) => e instanceof RagError && /EADDRINUSE/.test(e.message) && /another process/.test(e.hint ?? ''));
    } finally {
      blocker.close();
    }
  });
});
