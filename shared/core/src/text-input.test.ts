import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertTextFile, CorruptInputError, readTextChunks, readTextFileSync, TEXT_SNIFF_BYTES, TextChecker } from '@rag/core';

const dir = mkdtempSync(join(tmpdir(), 'rag-text-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

async function chunks(path: string): Promise<string> {
  let s = '';
  for await (const c of readTextChunks(path)) s += c;
  return s;
}

const corrupt = (pattern: RegExp) => (e: unknown) => e instanceof CorruptInputError && e.code === 'CORRUPT_INPUT' && pattern.test(e.message);

test('UTF-8 (with or without BOM) and UTF-16 of either byte order read as the same text', async () => {
  const text = 'Zürich — 東京\nline two\ttab\r\n';
  const files = [
    file('u8.txt', text),
    file('bom.txt', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])),
    file('le.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])),
    file('be.txt', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])),
  ];
  for (const p of files) {
    assert.equal(readTextFileSync(p), text, p);
    assert.equal(await chunks(p), text, p);
    assert.equal((await assertTextFile(p)).head, text, p);
  }
});

test('a character split across chunks is fine; a file ending inside one is not', () => {
  const bytes = Buffer.from('aé');
  const c = new TextChecker('x', bytes.subarray(0, 4));
  assert.equal(c.decode(bytes.subarray(0, 2)) + c.decode(bytes.subarray(2)) + c.end(), 'aé');
  const cut = new TextChecker('cut.txt', bytes);
  cut.decode(bytes.subarray(0, 2));
  assert.throws(() => cut.end(), corrupt(/cut\.txt is not valid utf-8 text \(it ends inside a character\)/));
});

test('random bytes, invalid UTF-8, NUL bytes and control characters are refused with one error type', async () => {
  const random = Buffer.alloc(4096);
  for (let i = 0, x = 7; i < random.length; i++) random[i] = x = (x * 1103515245 + 12345) & 0xff;
  const cases: [string, Buffer, RegExp][] = [
    ['random.bin', random, /random\.bin is not valid utf-8 text \(within bytes 0-4096\)/],
    ['latin1.txt', Buffer.from('caf\xe9 au lait\n', 'latin1'), /latin1\.txt is not valid utf-8 text/],
    ['nul.txt', Buffer.from('question one\nquestion\u0000two\n'), /nul\.txt is not text: it holds NUL characters/],
    ['controls.bin', Buffer.from(Array.from({ length: 400 }, (_, i) => (i % 3 ? 0x41 : 0x01))), /controls\.bin is not text: 134 of its first 400 characters are control characters/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const p = file(name, bytes);
    assert.throws(() => readTextFileSync(p, { expected: 'a question file' }), corrupt(pattern), name);
    await assert.rejects(chunks(p), corrupt(pattern), name);
    await assert.rejects(assertTextFile(p), corrupt(pattern), name);
    try {
      readTextFileSync(p, { expected: 'a question file' });
    } catch (err) {
      assert.match((err as CorruptInputError).hint ?? '', /^this must be a question file; /);
    }
  }
});

test('text with a few control characters passes; the head check ignores a character cut by its window', async () => {
  const ok = file('esc.log', '\u001b[31mred\u001b[0m line\n'.repeat(10));
  assert.match(readTextFileSync(ok), /red/);
  // "é" is 2 bytes: put its first byte exactly at the end of the sniff window.
  const big = Buffer.concat([Buffer.alloc(TEXT_SNIFF_BYTES - 1, 0x61), Buffer.from('é tail\n')]);
  const p = file('big.txt', big);
  const r = await assertTextFile(p);
  assert.equal(r.complete, false);
  assert.equal(r.head.length, TEXT_SNIFF_BYTES - 1);
  assert.equal((await chunks(p)).length, TEXT_SNIFF_BYTES - 1 + 'é tail\n'.length);
});

test('invalid bytes far past the head are still found by the streaming readers', async () => {
  const p = file('late.txt', Buffer.concat([Buffer.alloc(3 << 20, 0x61), Buffer.from([0x0a, 0xff, 0x0a])]));
  assert.equal((await assertTextFile(p)).complete, false); // the head is fine
  await assert.rejects(chunks(p), corrupt(/late\.txt is not valid utf-8 text \(within bytes 3145728-/));
});
