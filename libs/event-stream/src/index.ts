export * from './event-stream.module.js';
export * from './org-event-stream.service.js';
export * from './stream-ids.js';
