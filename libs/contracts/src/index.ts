import 'reflect-metadata';
export * from './queues.js';
export * from './validate-payload.js';
