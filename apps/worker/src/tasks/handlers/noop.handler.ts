import type { NoopParams } from '#libs/tasks';
import type { TaskHandler } from '../task-handler.js';

export const noopHandler: TaskHandler<NoopParams> = {
  type: 'noop',
  async run() {
    return {};
  },
};
