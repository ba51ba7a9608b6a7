import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PathNotAllowedError } from '@rag/core';
import { assertAllowedPath } from './allowed-paths.js';

test('paths under a root pass; outside, next-door prefixes and symlinks out are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rag-roots-'));
  try {
    const root = join(dir, 'data');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'sub', 'dump.xml'), 'x');
    mkdirSync(join(dir, 'data-other'));
    writeFileSync(join(dir, 'data-other', 'f'), 'x');
    symlinkSync('/etc/passwd', join(root, 'sneaky'));
    assertAllowedPath(join(root, 'sub', 'dump.xml'), [root], 'source');
    assertAllowedPath(join(root, 'sub', '..', 'sub', 'dump.xml'), ['/nowhere', root], 'source');
    assertAllowedPath(join(root, 'not-yet-there.xml'), [root], 'source');
    for (const bad of ['/etc/passwd', join(dir, 'data-other', 'f'), join(root, '..', 'data-other', 'f'), join(root, 'sneaky')]) {
      assert.throws(() => assertAllowedPath(bad, [root], 'source'), (e: unknown) => e instanceof PathNotAllowedError && /RAG_SOURCE_ROOTS/.test(e.message), bad);
    }
    assert.throws(() => assertAllowedPath('/etc', [root], 'model directory'), /RAG_MODEL_ROOTS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
