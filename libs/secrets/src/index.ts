export * from './secret-names.js';
export * from './secret.repository.js';
export * from './secret.service.js';
export * from './secrets.module.js';
