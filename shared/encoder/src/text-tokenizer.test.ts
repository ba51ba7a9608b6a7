import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { TextTokenizer } from './text-tokenizer.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const readJson = (p: string): object => JSON.parse(readFileSync(p, 'utf8')) as object;

// Repeated words (cache hits), rare words, accents, CJK, emoji, [UNK]-bound symbols, added-token text.
const TEXTS = [
  'The Silverbend river rises in a moorland basin; the river then descends through the gorge.',
  'the river, the River, THE RIVER — and the riverbanks of the riverine valley',
  'Café au lait, naïve façade, Zürich, école; école again',
  '東京は日本の首都で、人口が多い都市です。',
  'I love pizza 🍕 and tacos 🌮 𓀀 antidisestablishmentarianism antidisestablishmentarianism',
  '[CLS] literally, then [SEP] and [PAD] [UNK]',
];

for (const model of ['all-MiniLM-L6-v2', 'minilm-static-256']) {
  test(`${model}: the word-piece cache returns exactly what @huggingface/tokenizers does, on first use and on hits`, () => {
    const json = readJson(join(repo, 'models', model, 'tokenizer.json'));
    const cfg = readJson(join(repo, 'models', model, 'tokenizer_config.json'));
    const ours = new TextTokenizer(json, cfg, 256);
    const plain = new Tokenizer(json, cfg);
    for (let round = 0; round < 2; round++) {
      for (const text of TEXTS) {
        const want = plain.encode(text).ids;
        assert.deepEqual([...ours.encode(text).ids], want, `${model} round ${round}: ${text}`);
      }
    }
  });
}
