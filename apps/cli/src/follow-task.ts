import type { TaskLogChunk, TaskStatus, TaskView } from '#libs/contracts';
import type { PlatformClient } from '#libs/client';

const TERMINAL: readonly TaskStatus[] = ['SUCCESS', 'FAILED', 'CANCELLED'];

export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Streams a task's logs (its STDOUT to stdout, the rest to stderr) and status changes
 * (to stderr) until it finishes; returns the finished task. Each log chunk is printed
 * once, whether it came in the snapshot, a page of older logs or an event.
 */
export async function followTask(client: PlatformClient, taskId: string, output: Output): Promise<TaskView> {
  const subscription = client.watchTask(taskId);
  let lastSeq = 0;
  let lastStatus: string | undefined;
  const print = (chunk: TaskLogChunk) => {
    if (chunk.seq <= lastSeq) return;
    lastSeq = chunk.seq;
    if (chunk.stream === 'STDOUT') output.stdout(chunk.chunk);
    else output.stderr(chunk.stream === 'SYSTEM' ? `[system] ${chunk.chunk}` : chunk.chunk);
  };
  const status = (task: TaskView) => {
    if (task.status !== lastStatus) output.stderr(`task ${task.id} ${task.status}${task.error ? `: ${task.error}` : ''}\n`);
    lastStatus = task.status;
    return TERMINAL.includes(task.status);
  };
  try {
    for await (const message of subscription) {
      if (message.kind === 'snapshot') {
        if (message.refetched) output.stderr('(live events were missed; caught up from the current state)\n');
        message.snapshot.logs.forEach(print);
        for (let next = message.snapshot.logsNext; next !== null;) {
          const page = await client.tasks.logs(taskId, { after: next });
          page.items.forEach(print);
          next = page.next;
        }
        if (status(message.snapshot.task)) return message.snapshot.task;
      } else if (message.event.type === 'task.log') {
        print(message.event.data as TaskLogChunk);
      } else if (message.event.type === 'task.updated') {
        const task = message.event.data as TaskView;
        if (status(task)) return task;
      }
    }
    throw new Error('the task subscription ended before the task finished');
  } finally {
    subscription.close();
  }
}
