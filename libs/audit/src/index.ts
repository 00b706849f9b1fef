export * from './audit-entry.js';
export * from './audit-log.repository.js';
export * from './audit-log.service.js';
export * from './audit.module.js';
export * from './audit-trail.js';
