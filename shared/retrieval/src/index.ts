export * from './snapshot-retriever.js';
export * from './passage-lookup.js';
