export * from './config-entry.js';
export * from './config-entry.repository.js';
export * from './org-config.module.js';
export * from './org-config.service.js';
