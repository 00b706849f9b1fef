import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger } from '#libs/logging';
import { RunningTasks } from './running-tasks.js';
import { ABORT_REASON } from './task-handler.js';
import { TaskCancellationListener } from './task-cancellation.listener.js';

describe('TaskCancellationListener.handle', () => {
  function listener() {
    const lines: string[] = [];
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const running = new RunningTasks();
    // handle() uses only the running tasks and the logger; the Redis subscription is not started here.
    const subject = new TaskCancellationListener(
      undefined as never,
      undefined as never,
      running,
      undefined as never,
      createLogger('test', 'info', logs),
    );
    return { subject, running, lines };
  }

  it('aborts the named task of the named org as cancelled, and only that one', () => {
    const { subject, running } = listener();
    const orgId = randomUUID();
    const [target, bystander] = [randomUUID(), randomUUID()];
    const targetController = running.start(orgId, target);
    const bystanderController = running.start(orgId, bystander);

    subject.handle(JSON.stringify({ orgId, taskId: target }));

    expect(targetController.signal.aborted).toBe(true);
    expect(targetController.signal.reason).toBe(ABORT_REASON.cancelled);
    expect(bystanderController.signal.aborted).toBe(false);
  });

  it('does not abort a task when the message names another org', () => {
    const { subject, running } = listener();
    const taskId = randomUUID();
    const controller = running.start(randomUUID(), taskId);

    subject.handle(JSON.stringify({ orgId: randomUUID(), taskId }));

    expect(controller.signal.aborted).toBe(false);
  });

  it.each([
    ['not JSON', 'cancel it'],
    ['a task id that is not a UUID', JSON.stringify({ orgId: randomUUID(), taskId: 'x' })],
    ['a missing org', JSON.stringify({ taskId: randomUUID() })],
    ['extra fields', JSON.stringify({ orgId: randomUUID(), taskId: randomUUID(), all: true })],
  ])('ignores and logs a message with %s, aborting nothing', (_case, message) => {
    const { subject, running, lines } = listener();
    const controller = running.start(randomUUID(), randomUUID());

    subject.handle(message);

    expect(controller.signal.aborted).toBe(false);
    expect(lines.join('')).toContain('ignored an invalid cancellation message');
  });
});
