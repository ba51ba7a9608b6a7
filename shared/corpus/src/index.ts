export * from './passage.js';
export * from './read-stats.js';
export * from './wikitext-clean.js';
export * from './html-entities.js';
export * from './split-passages.js';
export * from './wiki-xml-reader.js';
export * from './dpr-tsv-reader.js';
export * from './jsonl-reader.js';
export * from './read-corpus.js';
export { readInputBytes, sniffCompression, assertReadableFile, type ReadOptions } from './input-bytes.js';
export { readInputText, sniffEncoding } from './decode-text.js';
// Hashing a source file separately (readers also set stats.sourceSha256 while streaming).
export { sha256File } from '@rag/core';
export * from './next-night.js';
