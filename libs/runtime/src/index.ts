export * from './infrastructure.js';
export * from './lifecycle.js';
export * from './process-utils.js';
export * from './redis-server.js';
export * from './embedded-postgres.js';
export * from './run-process.js';
export * from './single-flight.js';
export * from './startup-error.js';
