// The libraries' import graph keeps the architecture's layers: answering questions (retrieval, rag,
// generator, qa, registry) never depends on the build pipeline, and no library depends on a service.
// `npm run circular` checks for cycles; this checks direction. Source files only (tests may reach across).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './helpers/run-rag.js';

/** @rag/<name> -> the @rag packages its non-test sources import. */
function packageGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const top of ['shared', 'services']) {
    for (const pkg of readdirSync(join(REPO, top))) {
      const src = join(REPO, top, pkg, 'src');
      const deps = new Set<string>();
      const walk = (d: string) => {
        let entries: string[];
        try {
          entries = readdirSync(d);
        } catch {
          return;
        }
        for (const e of entries) {
          const p = join(d, e);
          if (statSync(p).isDirectory()) walk(p);
          else if (e.endsWith('.ts') && !e.endsWith('.test.ts')) {
            for (const m of readFileSync(p, 'utf8').matchAll(/from '@rag\/([a-z-]+)'|import\('@rag\/([a-z-]+)'\)/g)) {
              const dep = m[1] ?? m[2]!;
              if (dep !== pkg) deps.add(dep);
            }
          }
        }
      };
      walk(src);
      graph.set(pkg, deps);
    }
  }
  return graph;
}

function closure(graph: Map<string, Set<string>>, from: string): Set<string> {
  const seen = new Set<string>();
  const visit = (p: string) => {
    for (const d of graph.get(p) ?? []) if (!seen.has(d)) { seen.add(d); visit(d); }
  };
  visit(from);
  return seen;
}

const graph = packageGraph();

test('the question-answering path does not depend on the build pipeline', () => {
  for (const pkg of ['retrieval', 'rag', 'generator', 'qa', 'registry']) {
    assert.ok(graph.has(pkg), `@rag/${pkg} exists`);
    const deps = closure(graph, pkg);
    assert.ok(!deps.has('pipeline'), `@rag/${pkg} reaches @rag/pipeline through ${[...deps].sort().join(', ')}`);
  }
});

test('libraries do not import services', () => {
  const services = readdirSync(join(REPO, 'services'));
  for (const pkg of readdirSync(join(REPO, 'shared'))) {
    const bad = [...(graph.get(pkg) ?? [])].filter((d) => services.includes(d));
    assert.deepEqual(bad, [], `@rag/${pkg} imports services ${bad.join(', ')}`);
  }
});
