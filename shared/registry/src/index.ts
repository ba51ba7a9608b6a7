export * from './alias-record.schema.js';
export * from './alias-layout.js';
export * from './alias-errors.js';
export * from './alias-registry.js';
export * from './live-snapshot.js';
export * from './remove-snapshot.js';
