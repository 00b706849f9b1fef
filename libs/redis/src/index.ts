export * from './queue-factory.js';
export * from './redis-connection.js';
export * from './redis-keys.js';
export * from './redis.module.js';
export * from './lua-snippets.js';
export * from './key-slot.js';
export * from './redis-unavailable.js';
export * from './lua-script.js';
