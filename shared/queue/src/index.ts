export * from './redis-connection.js';
export * from './embedded-redis.js';
export * from './job-error-boundary.js';
export * from './queue-names.js';
export * from './queue-worker.js';
