export * from './admin-token.service.js';
export * from './auth.module.js';
export * from './token-hash.js';
