export * from './object-store.js';
export * from './object-key.js';
export * from './local-store.js';
export * from './s3-errors.js';
export * from './s3-store.js';
export * from './create-object-store.js';
export * from './s3-dev-server.js';
export * from './storage-probe.js';
