import { UsageError } from '@rag/core';

/** Local temp files carry this marker; keys may not, so a temp file can never be mistaken for an object. */
export const TEMP_MARKER = '.rag-tmp-';

function checkSegments(what: string, value: string, segments: string[]): void {
  for (const seg of segments) {
    if (seg === '') throw new UsageError(`invalid ${what} "${value}": empty path segment`, { hint: 'use single "/" between segments, no leading or trailing "/"' });
    if (seg === '.' || seg === '..') throw new UsageError(`invalid ${what} "${value}": "${seg}" segments are not allowed`);
    if (seg.includes(TEMP_MARKER)) throw new UsageError(`invalid ${what} "${value}": "${TEMP_MARKER}" is reserved for temporary files`);
  }
}

function checkChars(what: string, value: string): void {
  if (value.includes('\\')) throw new UsageError(`invalid ${what} "${value}": backslashes are not allowed`, { hint: 'keys use "/" as separator' });
  if (value.includes('\0')) throw new UsageError(`invalid ${what}: NUL character`);
  if (value.startsWith('/')) throw new UsageError(`invalid ${what} "${value}": must be relative (no leading "/")`);
}

/** Throws UsageError unless `key` is a non-empty '/'-separated relative path without '.', '..' or empty segments. */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new UsageError('invalid storage key: empty');
  checkChars('storage key', key);
  if (Buffer.byteLength(key) > 1024) throw new UsageError(`invalid storage key: longer than 1024 bytes`);
  checkSegments('storage key', key, key.split('/'));
}

/**
 * A list prefix: '' (everything), or key-like text that may end in '/' and whose last segment may be partial.
 * Returns it unchanged.
 */
export function assertValidPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new UsageError('invalid storage prefix: not a string');
  if (prefix === '') return prefix;
  checkChars('storage prefix', prefix);
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  checkSegments('storage prefix', prefix, body.split('/'));
  return prefix;
}

/** Byte-wise (UTF-16 code unit) order, the same on both backends for ASCII keys. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
