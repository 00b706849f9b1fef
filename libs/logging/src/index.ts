export * from './logger.js';
export * from './logger.module.js';
