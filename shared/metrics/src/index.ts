export * from './metrics-registry.js';
export * from './metrics-server.js';
export * from './qa-metrics.js';
export { Counter, Gauge, Histogram } from 'prom-client';
