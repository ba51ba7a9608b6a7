export * from './rag-error.js';
export * from './errors.js';
export * from './logger.js';
export * from './sha256.js';
export * from './snapshot-id.js';
export * from './text-input.js';
export * from './process-alive.js';
