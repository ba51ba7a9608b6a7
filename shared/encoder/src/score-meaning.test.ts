import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveEncoderSettings } from './encoder-options.js';
import { scoreMeaning } from './score-meaning.js';

const MODELS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../models');

test('the score line names the scale each shipped encoder produces', () => {
  const minilm = resolveEncoderSettings({ dir: join(MODELS, 'all-MiniLM-L6-v2') });
  assert.match(scoreMeaning(minilm), /^score: cosine similarity .*at most 1/);
  const world = resolveEncoderSettings({ dir: join(MODELS, 'world-question-encoder') });
  assert.equal(world.queryScale, 20);
  assert.match(scoreMeaning(world), /^score: 20 × cosine similarity/);
  assert.match(scoreMeaning({ normalize: false, queryScale: 1 }), /^score: inner product .*not normalised/);
});
