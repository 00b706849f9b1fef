import { IsInt, Max, Min } from 'class-validator';
import type { TaskTypeDefinition } from './task-type-definition.js';

const MAX_SLEEP_MS = 86_400_000;

export class SleepParams {
  @IsInt()
  @Min(0)
  @Max(MAX_SLEEP_MS)
  ms!: number;
}

/** Waits `ms`, reporting progress: for tests and demos. */
export const sleepTaskType: TaskTypeDefinition<SleepParams> = { type: 'sleep', params: SleepParams };
