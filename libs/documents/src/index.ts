export * from './document.js';
export * from './document.repository.js';
export * from './document-store.service.js';
export * from './documents.module.js';
