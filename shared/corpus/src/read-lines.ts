import { CorruptInputError } from '@rag/core';

/** Longer lines are not text records; refusing them keeps memory bounded on a wrong or damaged file. */
export const MAX_LINE_CHARS = 64 << 20;

/**
 * Splits streamed text into lines (LF or CRLF), holding only the current line.
 * A last line without a newline is still yielded.
 */
export async function* readLines(chunks: AsyncIterable<string>, path: string): AsyncGenerator<string> {
  let carry = '';
  let lineNo = 0;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      let line = carry + chunk.slice(start, nl);
      carry = '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      lineNo++;
      yield line;
      start = nl + 1;
    }
    carry += chunk.slice(start);
    if (carry.length > MAX_LINE_CHARS) {
      throw new CorruptInputError(`${path} line ${lineNo + 1} is longer than ${MAX_LINE_CHARS} characters`, {
        hint: 'this does not look like a line-based corpus file; check the file and the --format you chose',
        details: { path, line: lineNo + 1 },
      });
    }
  }
  if (carry.length > 0) yield carry.endsWith('\r') ? carry.slice(0, -1) : carry;
}
