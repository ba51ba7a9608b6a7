import { SaxesParser } from 'saxes';
import { CorruptInputError, RagError } from '@rag/core';
import { readInputText } from './decode-text.js';
import type { ReadOptions } from './input-bytes.js';
import { sourceHash, type ReuseCheck, type SourceDocument } from './passage.js';
import { preferUpstreamError } from './upstream-error.js';
import { cleanWikitext } from './wikitext-clean.js';

type Field = 'title' | 'ns' | 'id' | 'text';

interface PageState {
  title?: string;
  ns?: string;
  id?: string;
  text?: string;
  redirect: boolean;
}

/**
 * A run of <page> elements cut from a dump (a byte range of a multistream dump): parsed as if the
 * dump's own header came before it and its root element were closed after it.
 */
export interface XmlFragment {
  /** Text written before the range: the dump's header (up to its first <page>); '' for the first range. */
  head: string;
  /** Text written after the range: the root's closing tag; '' for the last range. */
  tail: string;
}

/** Old dumps mark redirects only in the text. */
const REDIRECT_TEXT = /^\s*#redirect\b/i;

/**
 * Streams the articles of a MediaWiki XML export (plain, .bz2 or .gz; UTF-8 or
 * UTF-16) as cleaned SourceDocuments, holding one page at a time.
 *
 * Skipped, and counted in `opts.stats`: redirects, pages outside the article
 * namespace (ns != 0) and pages with no text left after cleaning. With several
 * revisions per page, the last one wins. A file with nothing but whitespace
 * yields nothing (readPassages then reports an empty corpus); malformed XML is
 * a CorruptInputError with line and column. With `reuse`, a page the check
 * accepts is yielded uncleaned (`reused`, empty text).
 */
export async function* readWikiXml(path: string, opts: ReadOptions & { reuse?: ReuseCheck; sourceHashes?: boolean; fragment?: XmlFragment } = {}): AsyncGenerator<SourceDocument> {
  const stats = opts.stats;
  const parser = new SaxesParser({ position: true });
  const ready: SourceDocument[] = [];
  const stack: string[] = [];
  let page: PageState | undefined;
  let field: Field | undefined;
  let buf: string[] = [];

  const finishPage = (p: PageState): void => {
    if (p.ns !== undefined && p.ns.trim() !== '0') {
      if (stats) stats.skippedNonArticle++;
      return;
    }
    const raw = p.text ?? '';
    if (p.redirect || REDIRECT_TEXT.test(raw)) {
      if (stats) stats.skippedRedirects++;
      return;
    }
    const title = (p.title ?? '').trim();
    const pageId = (p.id ?? '').trim();
    if (!pageId) {
      throw new CorruptInputError(`Page "${title}" in ${path} has no <id> (line ${parser.line})`, {
        hint: 'this is not a MediaWiki pages-articles export; check the file',
        details: { path, line: parser.line, title },
      });
    }
    const rawSha = opts.sourceHashes || opts.reuse ? sourceHash(title, raw) : undefined;
    if (rawSha && opts.reuse?.({ pageId, title, rawSha })) {
      // Unchanged since the base snapshot: cleaning (the costly part) is skipped.
      if (stats) stats.documents++;
      ready.push({ pageId, title, text: '', rawSha, reused: true });
      return;
    }
    const text = cleanWikitext(raw);
    if (!text) {
      if (stats) stats.skippedEmpty++;
      return;
    }
    if (stats) stats.documents++;
    ready.push(rawSha ? { pageId, title, text, rawSha } : { pageId, title, text });
  };

  parser.on('opentag', (tag) => {
    stack.push(tag.name);
    if (tag.name === 'page') {
      page = { redirect: false };
      return;
    }
    if (!page) return;
    const parent = stack[stack.length - 2];
    if (parent === 'page') {
      if (tag.name === 'title' || tag.name === 'ns' || tag.name === 'id') field = tag.name;
      else if (tag.name === 'redirect') page.redirect = true;
    } else if (parent === 'revision' && tag.name === 'text' && stack[stack.length - 3] === 'page') {
      field = 'text';
    }
    if (field) buf = [];
  });
  parser.on('text', (t) => {
    if (field) buf.push(t);
  });
  parser.on('cdata', (t) => {
    if (field) buf.push(t);
  });
  parser.on('closetag', (tag) => {
    stack.pop();
    if (field && tag.name === field && page) {
      page[field] = buf.join('');
      field = undefined;
      buf = [];
    } else if (tag.name === 'page' && page) {
      const p = page;
      page = undefined;
      finishPage(p);
    }
  });

  const malformed = (err: unknown): CorruptInputError => {
    const message = (err as Error).message.replace(/^\d+:\d+: /, '');
    return new CorruptInputError(
      `Malformed XML in ${path} at line ${parser.line}, column ${parser.column}: ${message}`,
      {
        cause: err,
        hint: 'the dump is damaged or truncated (or not MediaWiki XML): download it again',
        details: { path, line: parser.line, column: parser.column },
      },
    );
  };

  const text = readInputText(path, opts);
  let sawContent = false;
  try {
    if (opts.fragment?.head) {
      parser.write(opts.fragment.head);
      sawContent = true;
    }
    for (;;) {
      const r = await text.next();
      if (r.done) break;
      if (!sawContent && r.value.trim() === '') continue;
      sawContent = true;
      let failure: unknown;
      try {
        parser.write(r.value);
      } catch (err) {
        failure = err;
      }
      // Pages completed before a failure are good; hand them out first.
      while (ready.length > 0) yield ready.shift()!;
      if (failure !== undefined) {
        if (failure instanceof RagError) throw failure;
        return await preferUpstreamError(text, malformed(failure));
      }
    }
    if (!sawContent) return;
    try {
      if (opts.fragment?.tail) parser.write(opts.fragment.tail);
      parser.close();
    } catch (err) {
      if (err instanceof RagError) throw err;
      throw malformed(err);
    }
    while (ready.length > 0) yield ready.shift()!;
  } finally {
    await text.return(undefined);
  }
}
