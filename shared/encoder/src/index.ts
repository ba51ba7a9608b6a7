export * from './encoder-options.js';
export * from './encoder.js';
export * from './load-encoder.js';
export * from './score-meaning.js';
export { cudaProviderInstalled } from './session-pool.js';
export { TextTokenizer, longestFirst, type TokenizedInput } from './text-tokenizer.js';
export { poolBatch, l2NormalizeRows } from './pooling.js';
