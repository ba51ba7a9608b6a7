export * from './snapshot-layout.js';
export * from './snapshot-manifest.schema.js';
export * from './snapshot-registry.js';
