import { setTimeout as delay } from 'node:timers/promises';
import type { SleepParams } from '#libs/tasks';
import type { TaskHandler } from '../task-handler.js';

/** Progress is reported this many times over the sleep. */
const PROGRESS_STEPS = 10;

export const sleepHandler: TaskHandler<SleepParams> = {
  type: 'sleep',
  async run({ params, progress, signal }) {
    const step = params.ms / PROGRESS_STEPS;
    for (let done = 1; done <= PROGRESS_STEPS; done++) {
      await delay(step, undefined, { signal }).catch(() => undefined);
      signal.throwIfAborted();
      await progress(done / PROGRESS_STEPS);
    }
    return { sleptMs: params.ms };
  },
};
