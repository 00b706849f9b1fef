export * from './resource-state.store.js';
export * from './resource-views.js';
export * from './resource.repository.js';
export * from './resource.service.js';
export * from './resources.module.js';
