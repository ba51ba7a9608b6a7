export * from './coordinator-server.js';
export * from './coordinator-metrics.js';
export * from './queue-discovery.js';
export { runCoordinator, type RunCoordinatorOptions } from './main.js';
export * from './nightly-scheduler.js';
