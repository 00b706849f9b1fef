export * from './control-plane-database.js';
export * from './database.module.js';
export * from './migration-folders.js';
export * from './migration-runner.js';
export * from './postgres-reachability.js';
export * from './with-pg-client.js';
