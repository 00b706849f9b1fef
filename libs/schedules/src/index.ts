export * from './schedule.repository.js';
export * from './schedule.service.js';
export * from './schedule-timer.js';
export * from './schedules.module.js';
