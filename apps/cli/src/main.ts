#!/usr/bin/env node
import { PlatformClient } from '#libs/client';
import { parseCliArguments, USAGE, UsageError } from './cli-arguments.js';
import { followTask } from './follow-task.js';

/** Exit status for usage, configuration and connection errors (0 and 1 are the task's outcome). */
const EXIT_USAGE = 2;

const output = {
  stdout: (text: string) => process.stdout.write(text),
  stderr: (text: string) => process.stderr.write(text),
};

async function main(): Promise<number> {
  const command = parseCliArguments(process.argv.slice(2));
  if (command.kind === 'help') {
    output.stdout(`${USAGE}\n`);
    return 0;
  }
  const url = process.env.PLATFORM_URL;
  const token = process.env.PLATFORM_TOKEN;
  if (!url || !token) throw new UsageError('set PLATFORM_URL and PLATFORM_TOKEN');
  const client = new PlatformClient({ url, token });
  try {
    let taskId: string;
    if (command.kind === 'run') {
      const task = await client.tasks.create({ type: command.type, params: command.params });
      output.stderr(`task ${task.id} created\n`);
      taskId = task.id;
    } else {
      taskId = command.taskId;
    }
    const finished = await followTask(client, taskId, output);
    return finished.status === 'SUCCESS' ? 0 : 1;
  } finally {
    client.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    output.stderr(`platform: ${error.message}\n${error instanceof UsageError ? `${USAGE}\n` : ''}`);
    process.exit(EXIT_USAGE);
  },
);
