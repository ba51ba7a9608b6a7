export * from './qa-job.schema.js';
export * from './qa-run-layout.js';
export * from './qa-progress.js';
export * from './answer-questions.js';
export * from './qa-models.js';
export * from './snapshot-pool.js';
export * from './qa-worker.js';
export * from './qa-run.js';
