export * from './index-options.js';
export * from './plan-index.js';
export * from './build-shard-index.js';
export * from './shard-index.js';
export * from './merge-top-k.js';
export * from './random-unit-vectors.js';
export { loadFaissNative, setFaissAddonPath, setFaissThreads, getFaissThreads, getFaissBlasThreads } from './faiss-native.js';
export { checkShape, checkFinite } from './check-vectors.js';
export * from './snapshot-quantizer.js';
