import 'reflect-metadata';
export * from './domain-errors.js';
export * from './events.js';
export * from './queues.js';
export * from './tasks.js';
export * from './validate-payload.js';
export * from './workers.js';
export * from './realtime-auth.js';
