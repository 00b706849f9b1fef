import type { TaskTypeDefinition } from './task-type-definition.js';

export class NoopParams {}

/** Succeeds at once: for tests and benchmarks. */
export const noopTaskType: TaskTypeDefinition<NoopParams> = { type: 'noop', params: NoopParams };
