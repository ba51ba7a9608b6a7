import { CorruptInputError } from '@rag/core';
import type { ByteSource } from './byte-source.js';
import { readInputText } from './decode-text.js';
import { readLines } from './read-lines.js';

/**
 * The stream offsets named by a multistream index (`offset:pageid:title` per page, bzip2 or plain,
 * in dump order), each once, streamed. A line that does not start with a number is a
 * CorruptInputError naming the line.
 */
export async function* readMultistreamIndexOffsets(index: ByteSource, opts: { bzip2Command?: string } = {}): AsyncGenerator<number> {
  let last = -1;
  let lineNo = 0;
  for await (const line of readLines(readInputText(index.name, { source: index, bzip2Command: opts.bzip2Command }), index.name)) {
    lineNo++;
    if (line === '') continue;
    const m = /^(\d+):/.exec(line);
    if (!m) {
      throw new CorruptInputError(`${index.name} line ${lineNo} is not offset:pageid:title`, {
        hint: 'pass the …-multistream-index.txt.bz2 file that Wikipedia publishes beside the dump',
        details: { line: lineNo },
      });
    }
    const offset = Number(m[1]);
    if (offset < last) {
      throw new CorruptInputError(`${index.name} line ${lineNo}: offset ${offset} goes back (after ${last})`, { hint: 'the index file is damaged; download it again' });
    }
    if (offset !== last) yield offset;
    last = offset;
  }
}

/** One index line, as Wikipedia writes them (the title unescaped, ':' allowed in it). */
export function multistreamIndexLine(offset: number, pageId: string, title: string): string {
  return `${offset}:${pageId}:${title}\n`;
}
