// package.json promises a Node version; every locked package must accept it, or `npm ci` warns (EBADENGINE)
// and the package may use features that Node lacks (commander 15 needs Node 22.12).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './helpers/run-rag.js';

type Version = [number, number, number];

function parse(v: string): Version | null {
  const m = /^v?(\d+|x|\*)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(v.trim());
  if (!m) return null;
  const n = (s?: string) => (s === undefined || s === 'x' || s === '*' ? 0 : Number(s));
  return [n(m[1]), n(m[2]), n(m[3])];
}

function cmp(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The comparators npm's engines fields use (>=, >, <=, <, =, ^, ~, x-ranges, ||, AND by spaces). */
export function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alt) => {
    const parts = alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean);
    return parts.every((p) => {
      if (p === '*' || p === 'x') return true;
      const op = /^(>=|<=|>|<|=|\^|~)?/.exec(p)![1] ?? '';
      const v = parse(p.slice(op.length));
      if (!v) throw new Error(`cannot read engines range ${range}`);
      const c = cmp(version, v);
      const digits = p.slice(op.length).split('.').filter((d) => /^\d+$/.test(d.replace(/^v/, ''))).length;
      switch (op) {
        case '>=': return c >= 0;
        case '>': return c > 0;
        case '<=': return c <= 0;
        case '<': return c < 0;
        case '^': return c >= 0 && (v[0] > 0 ? version[0] === v[0] : v[1] > 0 ? version[0] === 0 && version[1] === v[1] : cmp(version, v) === 0);
        case '~': return c >= 0 && version[0] === v[0] && (digits < 2 || version[1] === v[1]);
        default: // `=`, a bare version or a partial one (`20`, `20.x`)
          return digits >= 3 ? c === 0 : version[0] === v[0] && (digits < 2 || version[1] === v[1]);
      }
    });
  });
}

test('the engines check reads the ranges npm uses', () => {
  assert.ok(satisfies([20, 0, 0], '>=20'));
  assert.ok(!satisfies([20, 0, 0], '>=22.12.0'));
  assert.ok(satisfies([20, 20, 2], '^18.18.0 || ^20.9.0 || >=21.1.0'));
  assert.ok(!satisfies([20, 5, 0], '^18.18.0 || ^20.9.0 || >=21.1.0'));
  assert.ok(satisfies([20, 0, 0], '>= 8.0.0'));
  assert.ok(satisfies([20, 0, 0], '>=6 <7 || >=8'));
  assert.ok(!satisfies([20, 0, 0], '^16 || ^18'));
  assert.ok(satisfies([20, 0, 0], '>=0.8.x'));
  assert.ok(satisfies([20, 1, 0], '20.x'));
});

test('every runtime dependency accepts the oldest Node that package.json promises, every package the Node running the tests', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));
  const promised = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node)?.[1];
  assert.ok(promised, `package.json engines.node should be a lower bound, is ${pkg.engines.node}`);
  const oldest = parse(promised!)!;
  const running = parse(process.versions.node)!;
  assert.ok(cmp(running, oldest) >= 0, `Node ${process.versions.node} is older than package.json's ${pkg.engines.node}`);
  const bad: string[] = [];
  for (const [path, entry] of Object.entries<any>(lock.packages)) {
    const range = entry.engines?.node;
    if (!path || typeof range !== 'string') continue;
    // Dev tools (eslint, sharp) may ask for a newer 20.x than the runtime; the Node that runs them must fit.
    if (!entry.dev && !entry.optional && !satisfies(oldest, range)) bad.push(`${path} needs node ${range}, package.json promises ${pkg.engines.node}`);
    if (!entry.optional && !satisfies(running, range)) bad.push(`${path} needs node ${range}, tests run on ${process.versions.node}`);
  }
  assert.deepEqual(bad, []);
});
