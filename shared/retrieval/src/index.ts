export * from './snapshot-retriever.js';
