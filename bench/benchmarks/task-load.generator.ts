import { Agent, request } from 'node:http';

/**
 * Kept-alive sockets, dropped by this side after 2 s idle: the server closes idle ones after
 * 5 s (Node's keepAliveTimeout), and a request written to a socket the server is closing at
 * that moment fails with ECONNRESET between rounds.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 1024, timeout: 2000 });

/** POSTs `body` as JSON over the agent's sockets; the status and the text of the answer. */
function postJson(url: string, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

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
  const body = JSON.stringify({ type: 'noop' });
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const org = next++ % tokens.length;
        const response = await postJson(`${baseUrl}/v1/tasks`, tokens[org]!, body);
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
