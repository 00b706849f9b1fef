import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformApi } from '#libs/client';
import { spawnPlatformProcess, waitFor, type PlatformProcess } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';
import { connectRealtime } from './realtime-clients.js';

const VALUE = 'sk-live-9f8e7d6c5b4a3210';

describe('org secrets: admin writes, members use, values never leave sealed (real worker process, Redis, Postgres, HTTP, Socket.IO)', () => {
  let platform: TestPlatform;
  let worker: PlatformProcess;
  let dataDir: string;
  let org: CreatedOrg;
  let member: string;
  let viewer: string;
  /** Every answer the API gave in this file, to check that none holds a value. */
  const answers: unknown[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'secrets-worker-'));
    await chmod(dataDir, 0o755);
    platform = await startTestPlatform({ withWorker: false, env: { TASK_SHELL_ALLOW: 'sh' } });
    worker = spawnPlatformProcess('worker', { ...platform.env, DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    await worker.waitForOutput(/worker started/);
    org = await platform.createOrg();
    member = (await call('POST', '/v1/tokens', { name: 'm', role: 'member' })).body.token;
    viewer = (await call('POST', '/v1/tokens', { name: 'v', role: 'viewer' })).body.token;
  });
  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.waitForExit(30_000).catch(() => worker.child.kill('SIGKILL'));
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, body?: unknown, token = org.token) {
    const answer = await platform.request(method, path, { token, body });
    answers.push(answer.body);
    return answer;
  }
  const waitForTask = (id: string) =>
    waitFor(
      `task ${id} to finish`,
      async () => {
        const { body } = await call('GET', `/v1/tasks/${id}`);
        return ['SUCCESS', 'FAILED', 'CANCELLED'].includes(body?.status) ? body : undefined;
      },
      30_000,
    );

  it('lets an admin create, replace, list (names and dates only) and delete secrets, with 204s', async () => {
    expect((await call('PUT', '/v1/secrets/TEMP_TOKEN', { value: 'first' })).status).toBe(204);
    const [before] = (await call('GET', '/v1/secrets')).body;
    expect((await call('PUT', '/v1/secrets/TEMP_TOKEN', { value: 'second' })).status).toBe(204);
    const listed = (await call('GET', '/v1/secrets')).body;
    expect(listed).toEqual([{ name: 'TEMP_TOKEN', createdAt: before.createdAt, updatedAt: expect.any(String) }]);
    expect(listed[0].updatedAt >= before.updatedAt).toBe(true);
    expect((await call('DELETE', '/v1/secrets/TEMP_TOKEN')).status).toBe(204);
    expect((await call('GET', '/v1/secrets')).body).toEqual([]);
    expect((await call('DELETE', '/v1/secrets/TEMP_TOKEN')).status).toBe(404);
  });

  it('lets only admins write: a member lists and uses, a viewer does neither', async () => {
    expect((await call('PUT', '/v1/secrets/MEMBER_TRY', { value: 'x' }, member)).status).toBe(403);
    expect((await call('DELETE', '/v1/secrets/MEMBER_TRY', undefined, member)).status).toBe(403);
    expect((await call('GET', '/v1/secrets', undefined, member)).status).toBe(200);
    expect((await call('GET', '/v1/secrets', undefined, viewer)).status).toBe(403);
  });

  it('refuses bad names and values with 400 naming the problem', async () => {
    expect((await call('PUT', '/v1/secrets/lower_case', { value: 'x' })).body.message).toEqual([
      expect.stringContaining('name must match'),
    ]);
    expect((await call('PUT', '/v1/secrets/LD_PRELOAD', { value: 'x' })).body.message).toEqual([
      expect.stringContaining('LD_PRELOAD is a variable tasks may not set'),
    ]);
    expect((await call('PUT', '/v1/secrets/BIG', { value: 'x'.repeat(65_537) })).status).toBe(400);
    expect((await call('PUT', '/v1/secrets/NO_VALUE', {})).status).toBe(400);
    expect((await call('PUT', '/v1/secrets/NUMBER', { value: 5 })).status).toBe(400);
    const unknown = await call('POST', '/v1/tasks', { type: 'shell', params: { command: 'sh' }, secrets: ['NOT_THERE'] }, member);
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toEqual(['secrets: the org has no secret NOT_THERE']);
    expect((await call('POST', '/v1/tasks', { type: 'noop', secrets: ['bad name'] }, member)).status).toBe(400);
  });

  it('gives a member’s task the secret as a variable and masks it as *** in live events, the logs API and Postgres', async () => {
    expect((await call('PUT', '/v1/secrets/API_KEY', { value: VALUE })).status).toBe(204);
    const sealed = await platform.queryOrgDatabase(org.slug, 'SELECT value_encrypted FROM secrets WHERE name = $1', ['API_KEY']);
    expect(sealed).toHaveLength(1);
    expect(sealed[0].value_encrypted).not.toContain(VALUE);

    // A task before, so the org's event stream has a position to replay from.
    await waitForTask((await call('POST', '/v1/tasks', { type: 'noop' }, member)).body.id);
    const socket = await connectRealtime(platform.baseUrl, member);
    try {
      const { position } = await socket.subscribe({ topic: 'tasks' });
      // The value is printed whole, once in one write and once split across two writes with a pause between.
      const script = 'echo "key=$API_KEY"; printf "split=%s" "${API_KEY%${API_KEY#?????}}"; sleep 0.3; echo "${API_KEY#?????}"; echo done';
      const created = await call(
        'POST',
        '/v1/tasks',
        { type: 'shell', params: { command: 'sh', args: ['-c', script] }, secrets: ['API_KEY'] },
        member,
      );
      expect(created.status).toBe(201);
      expect(created.body.secrets).toEqual(['API_KEY']);
      const subscribed = await socket.subscribe({ topic: 'task', id: created.body.id, since: position });
      expect(subscribed).toMatchObject({ ok: true, position });
      answers.push(subscribed);

      const done = await waitForTask(created.body.id);
      expect(done).toMatchObject({ status: 'SUCCESS', secrets: ['API_KEY'] });
      const live = await socket.waitForEvents(1, (event) => event.type === 'task.updated' && event.data.status === 'SUCCESS');
      expect(live).toHaveLength(1);
      const liveOutput = socket.events
        .filter((event) => event.type === 'task.log' && event.data.stream === 'STDOUT')
        .map((event) => event.data.chunk)
        .join('');
      expect(liveOutput).toBe('key=***\nsplit=***\ndone\n');

      const logs = await call('GET', `/v1/tasks/${created.body.id}/logs`);
      expect(
        logs.body.items
          .filter((item: any) => item.stream === 'STDOUT')
          .map((item: any) => item.chunk)
          .join(''),
      ).toBe('key=***\nsplit=***\ndone\n');

      const persisted = await waitFor('the task in history', async () => {
        const rows = await platform.queryOrgDatabase(org.slug, 'SELECT secrets FROM tasks WHERE id = $1', [created.body.id]);
        return rows.length ? rows : undefined;
      });
      expect(persisted).toEqual([{ secrets: ['API_KEY'] }]);
      const persistedLogs = await platform.queryOrgDatabase(
        org.slug,
        'SELECT stream, chunk FROM task_logs WHERE task_id = $1 ORDER BY seq',
        [created.body.id],
      );
      expect(
        persistedLogs
          .filter((row) => row.stream === 'STDOUT')
          .map((row) => row.chunk)
          .join(''),
      ).toBe('key=***\nsplit=***\ndone\n');
      const rowsHolding = await platform.queryOrgDatabase(
        org.slug,
        'SELECT count(*)::int AS n FROM task_logs WHERE strpos(chunk, $1) > 0',
        [VALUE],
      );
      expect(rowsHolding).toEqual([{ n: 0 }]);
      // From history now, the same view.
      expect((await call('GET', `/v1/tasks/${created.body.id}`)).body.secrets).toEqual(['API_KEY']);
      // The use is audited: one row for this attempt, naming the secret, never its value.
      const audit = await call('GET', '/v1/audit?action=secret.use');
      expect(audit.body.items.filter((row: any) => row.requestId === `task:${created.body.id}:${done.attempt}`)).toEqual([
        expect.objectContaining({
          actor: expect.objectContaining({ kind: 'platform', name: 'worker' }),
          action: 'secret.use',
          target: { type: 'secret', id: 'API_KEY' },
          outcome: 'success',
        }),
      ]);

      for (const event of socket.events) expect(JSON.stringify(event)).not.toContain(VALUE);
      expect(socket.events.length).toBeGreaterThan(0);
    } finally {
      socket.close();
    }
  });

  it('fails a waiting task cleanly when its secret is deleted before it runs', async () => {
    expect((await call('PUT', '/v1/secrets/SHORT_LIVED', { value: 'gone-soon' })).status).toBe(204);
    const created = await call(
      'POST',
      '/v1/tasks',
      { type: 'shell', params: { command: 'sh', args: ['-c', 'echo "$SHORT_LIVED"'] }, secrets: ['SHORT_LIVED'], delayMs: 2000 },
      member,
    );
    expect((await call('DELETE', '/v1/secrets/SHORT_LIVED')).status).toBe(204);
    // The deletion landed while the task still waited, which is the case under test.
    expect((await call('GET', `/v1/tasks/${created.body.id}`)).body.status).toBe('SCHEDULED');
    const done = await waitForTask(created.body.id);
    expect(done).toMatchObject({ status: 'FAILED', error: 'the org has no secret SHORT_LIVED (any more)' });
    const again = await call('POST', '/v1/tasks', { type: 'shell', params: { command: 'sh' }, secrets: ['SHORT_LIVED'] }, member);
    expect(again.body.message).toEqual(['secrets: the org has no secret SHORT_LIVED']);
  });

  it('is in the client SDK: put, list and delete, and secrets on a new task', async () => {
    const admin = new PlatformApi(platform.baseUrl, org.token);
    await admin.secrets.put('SDK_TOKEN', 'sdk-value-1234');
    const listed = await admin.secrets.list();
    answers.push(listed);
    expect(listed.map((secret) => secret.name)).toContain('SDK_TOKEN');
    const task = await new PlatformApi(platform.baseUrl, member).tasks.create({ type: 'noop', secrets: ['SDK_TOKEN'] });
    expect(task.secrets).toEqual(['SDK_TOKEN']);
    await admin.secrets.delete('SDK_TOKEN');
    await expect(admin.secrets.delete('SDK_TOKEN')).rejects.toMatchObject({ status: 404 });
  });

  it('describes the secrets routes in the OpenAPI document', async () => {
    const document = (await (await fetch(`${platform.baseUrl}/docs/openapi.json`)).json()) as { paths: Record<string, object> };
    expect(Object.keys(document.paths['/v1/secrets']!)).toEqual(['get']);
    expect(Object.keys(document.paths['/v1/secrets/{name}']!).sort()).toEqual(['delete', 'put']);
  });

  it('never shows a value in any answer of this file', () => {
    expect(answers.length).toBeGreaterThan(10);
    for (const answer of answers) expect(JSON.stringify(answer ?? null)).not.toContain(VALUE);
    expect(worker.output()).not.toContain(VALUE);
  });
});
