import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { ConfigError } from '@rag/core';
import { WorldWriteError } from './world-errors.js';

/**
 * A MediaWiki export (the pages-articles dump format, schema 0.10) written straight into `bzip2`.
 *
 * Pages are serialised in memory in batches and streamed to the system bzip2 on stdin, so memory stays flat
 * however big the world; the compressed stream goes to `<path>.partial` and is renamed into place only after
 * bzip2 exits cleanly, so a reader never sees half a dump. bzip2 output depends only on its input and block
 * size, which makes the bytes reproducible.
 */

export interface WikiRevision {
  id: number;
  parentId?: number;
  /** ISO 8601, second precision, UTC: 2018-03-01T12:00:00Z */
  timestamp: string;
  contributor: { username: string; id: number };
  comment?: string;
}

export interface WikiPage {
  id: number;
  title: string;
  ns: number;
  /** Target title when the page is a redirect. */
  redirect?: string;
  revision: WikiRevision;
  text: string;
}

export interface DumpStats {
  pages: number;
  xmlBytes: number;
  bz2Bytes: number;
  /** Hex sha256 of the compressed file. */
  bz2Sha256: string;
}

export interface DumpWriterOptions {
  /** Compressor run as `<cmd> -c -9`; default `bzip2`. */
  bzip2Command?: string;
  siteName?: string;
  dbName?: string;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Escapes text for element content and double-quoted attributes (the dumps escape `"` in both). */
export function escapeXml(s: string): string {
  // Characters XML 1.0 forbids outright cannot be escaped; drop them rather than write a broken file.
  return s.replace(/[&<>"]/g, (ch) => XML_ESCAPES[ch] as string).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
}

/** The base-36 sha1 the dumps carry in <sha1>, 31 characters. */
export function mediawikiSha1(text: string): string {
  const hex = createHash('sha1').update(text, 'utf8').digest('hex');
  return BigInt(`0x${hex}`).toString(36).padStart(31, '0');
}

const NAMESPACES: ReadonlyArray<[number, string]> = [
  [-2, 'Media'], [-1, 'Special'], [0, ''], [1, 'Talk'], [2, 'User'], [3, 'User talk'], [4, 'Wikipedia'],
  [6, 'File'], [10, 'Template'], [14, 'Category'], [100, 'Portal'],
];

export function dumpHeader(opts: DumpWriterOptions = {}): string {
  const ns = NAMESPACES.map(([key, name]) => (name
    ? `      <namespace key="${key}" case="first-letter">${name}</namespace>`
    : `      <namespace key="${key}" case="first-letter" />`)).join('\n');
  return [
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="en">',
    '  <siteinfo>',
    `    <sitename>${escapeXml(opts.siteName ?? 'Synthetic World Wiki')}</sitename>`,
    `    <dbname>${escapeXml(opts.dbName ?? 'worldwiki')}</dbname>`,
    '    <base>https://world.invalid/wiki/Main_Page</base>',
    '    <generator>@rag/world</generator>',
    '    <case>first-letter</case>',
    '    <namespaces>',
    ns,
    '    </namespaces>',
    '  </siteinfo>',
    '',
  ].join('\n');
}

export const DUMP_FOOTER = '</mediawiki>\n';

export function pageXml(p: WikiPage): string {
  const r = p.revision;
  const lines = [
    '  <page>',
    `    <title>${escapeXml(p.title)}</title>`,
    `    <ns>${p.ns}</ns>`,
    `    <id>${p.id}</id>`,
  ];
  if (p.redirect !== undefined) lines.push(`    <redirect title="${escapeXml(p.redirect)}" />`);
  lines.push('    <revision>', `      <id>${r.id}</id>`);
  if (r.parentId !== undefined) lines.push(`      <parentid>${r.parentId}</parentid>`);
  lines.push(
    `      <timestamp>${r.timestamp}</timestamp>`,
    '      <contributor>',
    `        <username>${escapeXml(r.contributor.username)}</username>`,
    `        <id>${r.contributor.id}</id>`,
    '      </contributor>',
  );
  if (r.comment !== undefined) lines.push(`      <comment>${escapeXml(r.comment)}</comment>`);
  lines.push(
    '      <model>wikitext</model>',
    '      <format>text/x-wiki</format>',
    `      <text xml:space="preserve" bytes="${Buffer.byteLength(p.text, 'utf8')}">${escapeXml(p.text)}</text>`,
    `      <sha1>${mediawikiSha1(p.text)}</sha1>`,
    '    </revision>',
    '  </page>',
    '',
  );
  return lines.join('\n');
}

const BATCH_CHARS = 1 << 20;

export class MediaWikiDumpWriter {
  private buffer: string[] = [];
  private bufferedChars = 0;
  private pages = 0;
  private xmlBytes = 0;
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly path: string,
    private readonly partialPath: string,
    private readonly child: ReturnType<typeof spawn>,
    private readonly done: Promise<{ bz2Bytes: number; bz2Sha256: string }>,
  ) {}

  /** Starts bzip2 and writes the dump header; call `writePage` per page, then `close`. */
  static async open(path: string, opts: DumpWriterOptions = {}): Promise<MediaWikiDumpWriter> {
    const command = opts.bzip2Command ?? 'bzip2';
    const partialPath = `${path}.partial`;
    const out = createWriteStream(partialPath);
    await once(out, 'open').catch((cause: unknown) => {
      throw new WorldWriteError(`cannot write ${partialPath}`, { cause, hint: 'check that the output folder exists and is writable' });
    });
    const child = spawn(command, ['-c', '-9'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let bz2Bytes = 0;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdout?.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bz2Bytes += chunk.length;
    });
    out.on('error', () => undefined); // reported through finished(out) below
    child.stdout?.pipe(out);
    const done = new Promise<{ bz2Bytes: number; bz2Sha256: string }>((resolve, reject) => {
      child.on('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'ENOENT'
          ? new ConfigError(`compressor "${command}" was not found`, { cause: err, hint: 'install bzip2 (apt-get install bzip2) or pass bzip2Command' })
          : new WorldWriteError(`could not run "${command}": ${err.message}`, { cause: err }));
      });
      child.on('close', (code, signal) => {
        if (code !== 0) {
          reject(new WorldWriteError(`${command} exited with ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ''}`, { hint: 'check free disk space and the compressor' }));
          return;
        }
        // stdout is piped with end:true, so the file stream finishes on its own once bzip2's output is drained.
        finished(out).then(
          () => resolve({ bz2Bytes, bz2Sha256: hash.digest('hex') }),
          (cause: unknown) => reject(new WorldWriteError(`cannot write ${partialPath}`, { cause, hint: 'check free disk space' })),
        );
      });
    });
    // Keep the rejection observed until close() awaits it, so an early failure is not an unhandled rejection.
    done.catch(() => undefined);
    child.stdin?.on('error', () => undefined); // EPIPE when bzip2 dies; its exit status reports why.
    const writer = new MediaWikiDumpWriter(path, partialPath, child, done);
    done.catch((err: Error) => { writer.failure = err; });
    await writer.push(dumpHeader(opts));
    return writer;
  }

  async writePage(page: WikiPage): Promise<void> {
    this.pages++;
    await this.push(pageXml(page));
  }

  /** Writes the footer, waits for bzip2, and moves the file into place. */
  async close(): Promise<DumpStats> {
    if (this.closed) throw new WorldWriteError('dump writer closed twice');
    this.closed = true;
    try {
      await this.push(DUMP_FOOTER);
      await this.flush();
      this.child.stdin?.end();
      const { bz2Bytes, bz2Sha256 } = await this.done;
      await rename(this.partialPath, this.path);
      return { pages: this.pages, xmlBytes: this.xmlBytes, bz2Bytes, bz2Sha256 };
    } catch (err) {
      this.child.kill();
      await rm(this.partialPath, { force: true });
      throw err;
    }
  }

  /** Stops bzip2 and removes the partial file (after an error elsewhere). */
  async abort(): Promise<void> {
    this.closed = true;
    this.child.kill();
    await this.done.catch(() => undefined);
    await rm(this.partialPath, { force: true });
  }

  private async push(s: string): Promise<void> {
    this.buffer.push(s);
    this.bufferedChars += s.length;
    if (this.bufferedChars >= BATCH_CHARS) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.buffer.length === 0) return;
    const chunk = Buffer.from(this.buffer.join(''), 'utf8');
    this.buffer = [];
    this.bufferedChars = 0;
    this.xmlBytes += chunk.length;
    const stdin = this.child.stdin;
    if (!stdin) throw new WorldWriteError('compressor has no stdin');
    if (!stdin.write(chunk)) {
      await Promise.race([once(stdin, 'drain'), this.done.then(() => undefined)]);
      if (this.failure) throw this.failure;
    }
  }
}
