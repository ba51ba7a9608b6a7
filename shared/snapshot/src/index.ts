export * from './snapshot-layout.js';
export * from './snapshot-manifest.schema.js';
export * from './snapshot-registry.js';
export * from './content-objects.js';
export * from './page-table.js';
export * from './snapshot-gc.js';
export * from './snapshot-diff.js';
