import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { TextDecoder } from 'node:util';
import { CorruptInputError } from './errors.js';

/**
 * The one check every file a user hands us goes through (corpus dumps, question files, model config and tokenizer
 * JSON): it must be text. A byte-order mark or the zero bytes of BOM-less UTF-16 pick the encoding, else UTF-8;
 * bytes are decoded strictly (no silent U+FFFD), and a NUL character or a head full of control characters marks a
 * binary file. Every reader fails the same way, with the same error type and wording, whichever command reads it.
 */

/** Text encodings we read; anything else must be converted to UTF-8 first. */
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface TextCheckOptions {
  /** What the file should be, for the hint ("a question file: NQ-open JSONL, ..."). */
  expected?: string;
  /** The bytes are the decompressed content of the file (offsets are then into that, not the file). */
  decompressed?: boolean;
}

/** How much of the start is inspected for binary content (control characters). */
export const TEXT_SNIFF_BYTES = 64 * 1024;
/** A head whose share of control characters (other than tab, newlines, form feed, escape) exceeds this is binary. */
const MAX_CONTROL_SHARE = 0.05;

/**
 * Encoding from the first bytes: a byte-order mark, or for BOM-less UTF-16 the zero bytes around the first ASCII
 * character (`<?xml`, `{`, `id`).
 */
export function sniffEncoding(head: Uint8Array): TextEncoding {
  const [a, b, c, d] = head;
  if (a === 0xff && b === 0xfe) return 'utf-16le';
  if (a === 0xfe && b === 0xff) return 'utf-16be';
  if (a === 0xef && b === 0xbb && c === 0xbf) return 'utf-8';
  if (head.length >= 4) {
    if (a !== 0 && b === 0 && c !== 0 && d === 0) return 'utf-16le';
    if (a === 0 && b !== 0 && c === 0 && d !== 0) return 'utf-16be';
  }
  return 'utf-8';
}

function isControl(code: number): boolean {
  // Tab, LF, VT, FF, CR and ESC (ANSI colours in logs) occur in real text; the other C0 codes and DEL do not.
  return (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0b && code !== 0x0c && code !== 0x0d && code !== 0x1b) || code === 0x7f;
}

/**
 * Strict, streaming bytes-to-text for one file: feed chunks in order, then call with no chunk at the end. Throws
 * CorruptInputError on bytes that are not valid text in the sniffed encoding, on a NUL character, and when the
 * first TEXT_SNIFF_BYTES characters are more than 5% control characters.
 */
export class TextChecker {
  readonly encoding: TextEncoding;
  #decoder: TextDecoder;
  #offset = 0;
  #head = { chars: 0, controls: 0, judged: false };

  constructor(readonly path: string, head: Uint8Array, private readonly opts: TextCheckOptions = {}) {
    this.encoding = sniffEncoding(head);
    this.#decoder = new TextDecoder(this.encoding, { fatal: true }); // strips the BOM by default
  }

  /** Offset just past the bytes fed so far. */
  get offset(): number {
    return this.#offset;
  }

  decode(chunk?: Uint8Array): string {
    const start = this.#offset;
    let text: string;
    try {
      text = chunk ? this.#decoder.decode(chunk, { stream: true }) : this.#decoder.decode();
    } catch (err) {
      const where = chunk ? ` (within bytes ${start}-${start + chunk.length}${this.opts.decompressed ? ' of the decompressed data' : ''})` : ' (it ends inside a character)';
      throw new CorruptInputError(`${this.path} is not valid ${this.encoding} text${where}`, {
        cause: err,
        hint: this.#hint('convert the file to UTF-8 (e.g. with iconv) or, if it should already be UTF-8, download it again'),
        details: { path: this.path, encoding: this.encoding, offset: start },
      });
    }
    if (chunk) this.#offset += chunk.length;
    const nul = text.indexOf('\u0000');
    if (nul >= 0) {
      throw new CorruptInputError(`${this.path} is not text: it holds NUL characters (first within bytes ${start}-${this.#offset}${this.opts.decompressed ? ' of the decompressed data' : ''}), so it looks like a binary file`, {
        hint: this.#hint('pass the text file itself (not a binary, an archive or a database file)'),
        details: { path: this.path, encoding: this.encoding, offset: start },
      });
    }
    this.#judgeHead(text, chunk === undefined);
    return text;
  }

  /** Ends the input: flushes the decoder (a file may not end inside a character) and judges a short head. */
  end(): string {
    return this.decode();
  }

  #judgeHead(text: string, final: boolean): void {
    const h = this.#head;
    if (h.judged) return;
    for (let i = 0; i < text.length && h.chars < TEXT_SNIFF_BYTES; i++, h.chars++) if (isControl(text.charCodeAt(i))) h.controls++;
    if (h.chars < TEXT_SNIFF_BYTES && !final) return; // judge on a full head, or at the end of a shorter file
    h.judged = true;
    if (h.chars > 0 && h.controls / h.chars > MAX_CONTROL_SHARE) {
      throw new CorruptInputError(`${this.path} is not text: ${h.controls} of its first ${h.chars} characters are control characters, so it looks like a binary file`, {
        hint: this.#hint('pass the text file itself (not a binary, an archive or a database file)'),
        details: { path: this.path, encoding: this.encoding, controls: h.controls, chars: h.chars },
      });
    }
  }

  #hint(fix: string): string {
    return this.opts.expected ? `this must be ${this.opts.expected}; ${fix}` : fix;
  }
}

/** The whole of a small text file (model configs, tokenizer JSON), checked. */
export function readTextFileSync(path: string, opts: TextCheckOptions = {}): string {
  const bytes = readFileSync(path);
  const checker = new TextChecker(path, bytes.subarray(0, 4), opts);
  return checker.decode(bytes) + checker.end();
}

/** Streams a text file as checked chunks of text (constant memory). */
export async function* readTextChunks(path: string, opts: TextCheckOptions = {}): AsyncGenerator<string> {
  let checker: TextChecker | undefined;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    checker ??= new TextChecker(path, buf.subarray(0, 4), opts);
    const s = checker.decode(buf);
    if (s) yield s;
  }
  if (checker) {
    const tail = checker.end();
    if (tail) yield tail;
  }
}

/**
 * Checks the first TEXT_SNIFF_BYTES of a file before any work starts, so a binary file is refused up front
 * (a character cut at the end of the window is not an error). Returns the decoded head.
 */
export async function assertTextFile(path: string, opts: TextCheckOptions = {}): Promise<{ head: string; encoding: TextEncoding; complete: boolean }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(TEXT_SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, TEXT_SNIFF_BYTES, 0);
    const bytes = buf.subarray(0, bytesRead);
    const checker = new TextChecker(path, bytes.subarray(0, 4), opts);
    const complete = bytesRead < TEXT_SNIFF_BYTES;
    const head = checker.decode(bytes) + (complete ? checker.end() : '');
    return { head, encoding: checker.encoding, complete };
  } finally {
    await fh.close();
  }
}
