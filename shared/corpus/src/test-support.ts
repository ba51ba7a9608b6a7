// Helpers for this package's tests only (not exported from index.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** A fresh temp directory; `write` puts a file in it and returns its path. */
export function tempFiles(): { dir: string; write(name: string, data: string | Buffer): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rag-corpus-'));
  return {
    dir,
    write(name, data) {
      const path = join(dir, name);
      writeFileSync(path, data);
      return path;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Compresses with the real bzip2 binary; `blockSize` 1-9 (x100 kB). */
export function bzip2(data: string | Buffer, blockSize = 9): Buffer {
  const r = spawnSync('bzip2', [`-${blockSize}`, '-c'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`bzip2 failed: ${r.stderr.toString()}`);
  return r.stdout;
}

export function gzip(data: string | Buffer): Buffer {
  return gzipSync(data);
}

/** UTF-16 big-endian bytes (Node only writes little-endian). */
export function utf16be(s: string): Buffer {
  const b = Buffer.from(s, 'utf16le');
  b.swap16();
  return b;
}

export interface TestPage {
  id: number | string;
  title: string;
  text: string;
  ns?: number;
  redirect?: string;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A MediaWiki export document in the layout of the real dumps. */
export function wikiXml(pages: TestPage[], decl = '<?xml version="1.0" encoding="UTF-8"?>\n'): string {
  const body = pages
    .map(
      (p) => `  <page>
    <title>${xmlEscape(p.title)}</title>
    <ns>${p.ns ?? 0}</ns>
    <id>${p.id}</id>${p.redirect ? `\n    <redirect title="${xmlEscape(p.redirect)}" />` : ''}
    <revision>
      <id>${Number(p.id) * 10 || 1}</id>
      <model>wikitext</model>
      <format>text/x-wiki</format>
      <text xml:space="preserve">${xmlEscape(p.text)}</text>
    </revision>
  </page>
`,
    )
    .join('');
  return `${decl}<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">
  <siteinfo>
    <sitename>Wikipedia</sitename>
    <namespaces><namespace key="0" case="first-letter" /></namespaces>
  </siteinfo>
${body}</mediawiki>
`;
}

/** Deterministic filler prose: `n` words drawn from a small vocabulary by a fixed LCG. */
export function filler(n: number, seed = 1): string {
  const vocab = ['albedo', 'river', 'stone', 'light', 'north', 'copper', 'glass', 'seven', 'quiet', 'harbour', 'ember', 'lattice'];
  let x = seed;
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(`${vocab[x % vocab.length]}${x % 97}`);
  }
  return out.join(' ');
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
