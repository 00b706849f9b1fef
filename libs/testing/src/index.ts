export * from './test-config.js';
export * from './test-database.js';
export * from './test-environment.js';
export * from './test-redis.js';
export * from './wait-for.js';
export * from './platform-process.js';
export * from './org-databases.js';
export * from './org-schema.js';
