export * from './guarded-http-client.js';
export * from './outbound-address-policy.js';
export * from './outbound.module.js';
