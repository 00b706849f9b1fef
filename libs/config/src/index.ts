export * from './config.module.js';
export * from './load-config.js';
export * from './platform-config.js';
export * from './project-root.js';
export * from './redact-url.js';
export * from './key-ring.js';
