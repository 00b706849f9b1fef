import { httpJson } from '../http-client.js';

/**
 * The load generator of `tasks.e2e`, run as a child process of its own (forked, with an
 * IPC channel) so its cost is never charged to the platform: told to create `count` noop
 * tasks over HTTP (kept-alive sockets, `inFlight` requests at once), spread round-robin
 * over the given org tokens, it answers with how many each org got and any refusal.
 */
export interface CreateTasksCommand {
  baseUrl: string;
  tokens: string[];
  count: number;
  inFlight: number;
}

export interface CreateTasksReport {
  /** Tasks created (201) per token, in the order given. */
  created: number[];
  /** The first answers that were not 201, if any. */
  failures: string[];
}

async function createTasks({ baseUrl, tokens, count, inFlight }: CreateTasksCommand): Promise<CreateTasksReport> {
  const created = tokens.map(() => 0);
  const failures: string[] = [];
  const body = { type: 'noop' };
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const org = next++ % tokens.length;
        const response = await httpJson(`${baseUrl}/v1/tasks`, 'POST', { authorization: `Bearer ${tokens[org]!}` }, body);
        if (response.status === 201) created[org]!++;
        else if (failures.length < 5) failures.push(`${response.status}: ${response.text.slice(0, 200)}`);
      }
    }),
  );
  return { created, failures };
}

process.on('message', (command: CreateTasksCommand) => {
  void createTasks(command).then(
    (report) => process.send!(report),
    (error: Error) => process.send!({ created: [], failures: [error.message] } satisfies CreateTasksReport),
  );
});
process.on('disconnect', () => process.exit(0));
