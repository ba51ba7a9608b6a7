import { CorruptInputError } from '@rag/core';
import type { ByteSource } from './byte-source.js';
import { readInputText } from './decode-text.js';
import type { XmlFragment } from './wiki-xml-reader.js';

/** The header of a MediaWiki dump is its siteinfo: a few KB. */
const MAX_HEADER_CHARS = 16 << 20;

/**
 * What a byte range of a multistream dump needs to parse on its own: the dump's text before its
 * first <page> (root element and siteinfo, read from the first stream and stopped early) and the
 * root's closing tag.
 */
export async function readDumpHeader(source: ByteSource, opts: { bzip2Command?: string } = {}): Promise<{ head: string; close: string }> {
  let text = '';
  const chunks = readInputText(source.name, { source, bzip2Command: opts.bzip2Command });
  let at = -1;
  try {
    for await (const c of chunks) {
      text += c;
      at = text.search(/<page[\s>]/);
      if (at >= 0 || text.length > MAX_HEADER_CHARS) break;
    }
  } finally {
    await chunks.return(undefined);
  }
  if (at < 0) {
    throw new CorruptInputError(`${source.name} has no <page> in its first ${Math.min(text.length, MAX_HEADER_CHARS)} characters`, {
      hint: 'this is not a MediaWiki pages-articles dump',
    });
  }
  const head = text.slice(0, at);
  const root = /<([A-Za-z_][\w.:-]*)[\s>]/.exec(head.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, ''))?.[1];
  if (!root) throw new CorruptInputError(`${source.name}: no root element before the first <page>`, { hint: 'this is not a MediaWiki pages-articles dump' });
  return { head, close: `</${root}>` };
}

/** The fragment framing of range `k` of `n`: the first range has the real header, the last the real end. */
export function rangeFragment(header: { head: string; close: string }, k: number, n: number): XmlFragment {
  return { head: k === 0 ? '' : header.head, tail: k === n - 1 ? '' : header.close };
}
