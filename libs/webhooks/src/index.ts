export * from './webhook-events.js';
export * from './webhook-signature.js';
export * from './webhook.repository.js';
export * from './webhook.service.js';
export * from './webhooks.module.js';
