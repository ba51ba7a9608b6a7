import { spawn } from 'node:child_process';
import { open, mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CorruptInputError, UsageError } from '@rag/core';
import { readInputText } from './decode-text.js';
import { multistreamIndexLine } from './multistream-index.js';
import { multistreamIndexNameFor } from './multistream-plan.js';

/**
 * Rewrites a MediaWiki XML dump as Wikipedia lays out `pages-articles-multistream.xml.bz2`: a bzip2
 * stream holding the header (root element and siteinfo), then one stream per `pagesPerStream`
 * pages, then a stream with the closing tag; and beside it the index
 * `…-multistream-index.txt.bz2` with one `offset:pageid:title` line per page, the offset being
 * that of the page's stream. Concatenated, the streams decompress to the source's text exactly
 * (with `copies` = 1). `copies` > 1 repeats the pages under new ids (+ k·1e9) and titles
 * (" (copy k)"), to make a bigger dump of real text for benchmarks. Holds one stream's pages.
 */
export interface MultistreamOptions {
  /** @defaultValue 100, as Wikipedia */
  pagesPerStream?: number;
  /** @defaultValue 1 */
  copies?: number;
  bzip2Command?: string;
}

export interface MultistreamReport {
  out: string;
  index: string;
  pages: number;
  streams: number;
  bytes: number;
}

/** Page ids of copy k are shifted by k times this (real page ids are below 10^9). */
export const COPY_ID_STRIDE = 1_000_000_000;

export async function makeMultistreamDump(source: string, out: string, o: MultistreamOptions = {}): Promise<MultistreamReport> {
  const perStream = o.pagesPerStream ?? 100;
  const copies = o.copies ?? 1;
  if (!Number.isInteger(perStream) || perStream < 1) throw new UsageError(`--pages-per-stream must be a whole number >= 1, got ${perStream}`);
  if (!Number.isInteger(copies) || copies < 1) throw new UsageError(`--copies must be a whole number >= 1, got ${copies}`);
  const indexPath = multistreamIndexNameFor(out);
  if (!indexPath) throw new UsageError(`--out ${out} must end in .xml.bz2`, { hint: 'the index is written beside it as …-index.txt.bz2, as Wikipedia names it' });
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.part`;
  const dump = await open(tmp, 'w');
  const command = o.bzip2Command ?? 'bzip2';
  let offset = 0;
  let streams = 0;
  let pages = 0;
  const indexLines: string[] = [];
  const writeStream = async (text: string): Promise<number> => {
    const at = offset;
    const body = await bzip2(text, command);
    await dump.write(body);
    offset += body.length;
    streams++;
    return at;
  };
  let batch: { text: string; id: string; title: string }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const at = await writeStream(batch.map((p) => p.text).join(''));
    for (const p of batch) indexLines.push(multistreamIndexLine(at, p.id, p.title));
    batch = [];
  };
  let trailer = '';
  try {
    for (let k = 0; k < copies; k++) {
      const parts = splitPages(readInputText(source, { bzip2Command: command }), source);
      for await (const part of parts) {
        if (part.kind === 'head') { if (k === 0) await writeStream(part.text); continue; }
        if (part.kind === 'tail') { trailer = part.text; continue; }
        const page = k === 0 ? part.text : renameCopy(part.text, k);
        const id = /<id>\s*(\d+)\s*<\/id>/.exec(page)?.[1];
        const title = /<title>([\s\S]*?)<\/title>/.exec(page)?.[1];
        if (id === undefined || title === undefined) throw new CorruptInputError(`a <page> of ${source} has no <id> or <title>`, { hint: 'this is not a MediaWiki pages-articles dump' });
        batch.push({ text: page, id, title: unescapeXml(title) });
        pages++;
        if (batch.length >= perStream) await flush();
      }
    }
    await flush();
    await writeStream(trailer);
    await dump.close();
    await rename(tmp, out);
  } catch (err) {
    await dump.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  const index = await open(`${indexPath}.part`, 'w');
  // One stream per 10,000 lines, as a reader of the index only needs it in order.
  try {
    for (let i = 0; i < indexLines.length; i += 10_000) await index.write(await bzip2(indexLines.slice(i, i + 10_000).join(''), command));
  } finally {
    await index.close();
  }
  await rename(`${indexPath}.part`, indexPath);
  return { out, index: indexPath, pages, streams, bytes: offset };
}

type Part = { kind: 'head' | 'page' | 'tail'; text: string };

/** The source text as header, whole <page>…</page> elements (with the whitespace before each) and tail. */
async function* splitPages(chunks: AsyncIterable<string>, source: string): AsyncGenerator<Part> {
  let buf = '';
  let sawHead = false;
  for await (const c of chunks) {
    buf += c;
    for (;;) {
      if (!sawHead) {
        const at = buf.search(/<page[\s>]/);
        if (at < 0) break;
        // The whitespace before the first page belongs to the page stream, as in Wikipedia's dumps.
        const cut = buf.slice(0, at).replace(/[ \t]*$/, '').length;
        yield { kind: 'head', text: buf.slice(0, cut) };
        buf = buf.slice(cut);
        sawHead = true;
        continue;
      }
      const end = buf.indexOf('</page>');
      if (end < 0) break;
      const stop = end + '</page>'.length + (buf[end + 7] === '\n' ? 1 : 0);
      yield { kind: 'page', text: buf.slice(0, stop) };
      buf = buf.slice(stop);
      // Whitespace before the next page joins that page; anything else is the tail.
      const next = buf.search(/<page[\s>]/);
      if (next < 0 || buf.slice(0, next).trim() !== '') break;
    }
  }
  if (!sawHead) throw new CorruptInputError(`${source} has no <page>`, { hint: 'this is not a MediaWiki pages-articles dump' });
  yield { kind: 'tail', text: buf };
}

function renameCopy(page: string, k: number): string {
  return page
    .replace(/(<title>)([\s\S]*?)(<\/title>)/, (_, a: string, t: string, b: string) => `${a}${t} (copy ${k})${b}`)
    .replace(/(<\/ns>\s*<id>\s*)(\d+)/, (_, a: string, id: string) => `${a}${Number(id) + k * COPY_ID_STRIDE}`);
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'").replace(/&amp;/g, '&');
}

function bzip2(text: string, command: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, ['-9', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { err += d; });
    child.once('error', (e) => reject(new UsageError(`cannot run '${command}': ${e.message}`, { hint: 'install bzip2' })));
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${command} exited with ${code}: ${err}`))));
    child.stdin.end(text);
  });
}
