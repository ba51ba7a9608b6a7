import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findChromium, htmlToPng, renderedDom } from './chromium.js';
import { ChromiumMissingError, RenderError } from './eval-errors.js';

describe('headless Chromium', () => {
  it('is found on this machine (infra/setup.sh --dev installs it)', async () => {
    assert.match(await findChromium(), /chrom/);
  });

  it('missing binary: typed error with an install hint', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'rag-eval-nochrome-'));
    try {
      await assert.rejects(findChromium({ searchPath: empty }), (e) => e instanceof ChromiumMissingError && e.code === 'CHROMIUM_MISSING' && /apt-get install -y chromium/.test(e.hint ?? ''));
      await assert.rejects(htmlToPng(join(empty, 'x.html'), join(empty, 'x.png'), { binary: join(empty, 'chromium') }), ChromiumMissingError);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('bad inputs and a failing browser are RenderErrors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-eval-render-'));
    try {
      await assert.rejects(htmlToPng(join(dir, 'missing.html'), join(dir, 'x.png')), (e) => e instanceof RenderError && /cannot read/.test(e.message));
      await writeFile(join(dir, 'p.html'), '<p>x</p>');
      await assert.rejects(htmlToPng(join(dir, 'p.html'), join(dir, 'x.png'), { width: 0 }), /bad screenshot size/);
      const broken = join(dir, 'chromium');
      await writeFile(broken, '#!/bin/sh\necho "Trace/breakpoint trap: cannot open display" >&2\nexit 3\n');
      await chmod(broken, 0o755);
      await assert.rejects(renderedDom(join(dir, 'p.html'), { binary: broken }), (e) => e instanceof RenderError && /exited with 3/.test(e.message) && /cannot open display/.test(e.hint ?? ''));
      const hang = join(dir, 'hang');
      await writeFile(hang, '#!/bin/sh\nsleep 30\n');
      await chmod(hang, 0o755);
      const t0 = Date.now();
      await assert.rejects(renderedDom(join(dir, 'p.html'), { binary: hang, timeoutMs: 300 }), /killed by SIGKILL after 300 ms/);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
