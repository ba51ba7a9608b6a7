// One input validation for every reader of user files: a binary, non-UTF-8 or NUL-holding file is refused the same
// way (CorruptInputError, the same words) by `qa run --questions` as by `snapshot build --source`, and by every
// library reader of corpora, question files, QA records and model config/tokenizer JSON.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptInputError } from '@rag/core';
import { detectFormat, readPassages } from '@rag/corpus';
import { readRagEncoderFile } from '@rag/encoder';
import { readQaRecords, readQuestions } from '@rag/eval';
import { loadSeq2SeqTokenizer, readGeneratorCard, readGeneratorConfig } from '@rag/generator';
import { dprQuestionRoundTrip } from '@rag/rag';
import { runRag } from './helpers/run-rag.js';
import { tempDir } from './helpers/temp-dir.js';
import { TINY_GENERATOR } from './helpers/world-snapshots.js';

const dir = tempDir('text-input');
after(() => dir.cleanup());
const env = { RAG_STORAGE: join(dir.path, 'storage'), RAG_HOME: join(dir.path, 'home') };

const random = Buffer.alloc(5000);
for (let i = 0, x = 1; i < random.length; i++) random[i] = (x = (x * 1103515245 + 12345) % 2 ** 31) >>> 16 & 0xff;
const BAD: [string, Buffer, RegExp][] = [
  ['random.bin', random, /random\.bin is not valid utf-8 text \(within bytes 0-5000\)/],
  ['nul.jsonl', Buffer.from('{"question": "who?", "answer": ["x"]}\n{"question": "wh\u0000o?", "answer": ["y"]}\n'), /nul\.jsonl is not text: it holds NUL characters/],
  ['controls.txt', Buffer.from(Array.from({ length: 3000 }, (_, i) => [0x02, 0x41, 0x10, 0x42][i % 4]!)), /controls\.txt is not text: 1500 of its first 3000 characters are control characters/],
];
const paths = BAD.map(([name, bytes]) => {
  const p = join(dir.path, name);
  writeFileSync(p, bytes);
  return p;
});

/** The reason of a one-line `rag:` error, without the hint that names what the file should be. */
const reason = (stderr: string) => (/^rag: (.*?) \(this must be /m.exec(stderr) ?? [])[1];

test('qa run --questions refuses what snapshot build --source refuses, with the same words and exit code', { timeout: 300_000 }, async () => {
  for (const [i, [name, , pattern]] of BAD.entries()) {
    const build = await runRag(['snapshot', 'build', '--source', paths[i]!, '--snapshot', 'bad', '--no-progress'], env);
    const qa = await runRag(['qa', 'run', '--questions', paths[i]!, '--mode', 'no-retrieval', '--no-progress'], env);
    assert.equal(qa.code, 1, `${name}: ${qa.stderr}`);
    assert.equal(qa.code, build.code, name);
    assert.match(qa.stderr, pattern, name);
    assert.equal(reason(qa.stderr), reason(build.stderr), name);
    assert.match(qa.stderr, /\(this must be a question file/);
    assert.ok(!/answered|worker/.test(qa.stderr), `${name}: refused before any question was queued`);
  }
});

test('every library reader of user files throws the same CorruptInputError', async () => {
  const same = (pattern: RegExp) => (e: unknown) => e instanceof CorruptInputError && e.code === 'CORRUPT_INPUT' && pattern.test(e.message);
  for (const [i, [name, bytes, pattern]] of BAD.entries()) {
    const p = paths[i]!;
    await assert.rejects(detectFormat(p), same(pattern), `corpus detect ${name}`);
    await assert.rejects((async () => { for await (const _ of readPassages(p, { format: 'jsonl' })) { /* drain */ } })(), same(pattern), `corpus ${name}`);
    await assert.rejects(readQuestions(p), same(pattern), `questions ${name}`);
    await assert.rejects(readQuestions(p, { format: 'text' }), same(pattern), `questions as text ${name}`);
    await assert.rejects(readQaRecords(p), same(pattern), `qa records ${name}`);
    // Model directories: a copy of a real export with one file replaced by the bad bytes.
    const model = join(dir.path, `model-${i}`);
    cpSync(TINY_GENERATOR, model, { recursive: true });
    const spoil = (file: string) => {
      const keep = join(dir.path, `keep-${i}-${file}`);
      cpSync(join(model, file), keep);
      writeFileSync(join(model, file), bytes);
      return () => cpSync(keep, join(model, file));
    };
    const filePattern = (file: string) => new RegExp(pattern.source.replace(/^[^ ]+?\\\.[a-z]+/, file.replace('.', '\\.')));
    for (const [file, read] of [
      ['config.json', () => readGeneratorConfig(model)],
      ['tokenizer.json', () => loadSeq2SeqTokenizer(model, 64)],
      ['tokenizer_config.json', () => dprQuestionRoundTrip(model)],
      ['PROVENANCE.json', () => readGeneratorCard(model)],
      ['rag_encoder.json', () => readRagEncoderFile(model)],
    ] as const) {
      if (file === 'PROVENANCE.json' || file === 'rag_encoder.json') writeFileSync(join(model, file), '{}');
      const restore = spoil(file);
      assert.throws(read, same(filePattern(file)), `${file} ${name}`);
      restore();
    }
  }
});
