export * from './platform-api.js';
export * from './platform-client.js';
export * from './realtime-client.js';
export * from './stream-order.js';
