export * from './row-change.js';
export * from './trigger-feed.js';
export * from './trigger.repository.js';
export * from './trigger.service.js';
export * from './triggers.module.js';
