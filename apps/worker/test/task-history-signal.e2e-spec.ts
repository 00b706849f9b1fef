import type { Redis } from 'ioredis';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { TaskLifecycle } from '#libs/tasks';
import { spawnPlatformProcess, waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

/**
 * The persist channel tells history writers of new work once per batch, not once per
 * finished task: a task finishing while another of its org is due goes with that one's
 * drain. No worker runs here: the test finishes tasks through the lifecycle itself and
 * counts what the channel carries.
 */
describe('the history writers are told of finished tasks (real Redis, API in process)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let lifecycle: TaskLifecycle;
  let subscriber: Redis;
  let channel: string;
  const told: string[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({ withWorker: false });
    lifecycle = platform.api.get(TaskLifecycle);
    // A worker process provisions the org's database, then stops: nothing else runs or persists tasks here.
    const provisioner = spawnPlatformProcess('worker', platform.env);
    try {
      await provisioner.waitForOutput(/worker started/, 120_000);
      org = await platform.createOrg();
    } finally {
      provisioner.child.kill('SIGTERM');
      await provisioner.waitForExit(30_000);
    }
    channel = platform.api.get(RedisKeys).taskPersistChannel;
    subscriber = platform.api.get(RedisConnection).duplicate();
    subscriber.on('message', (_channel: string, message: string) => told.push(message));
    await subscriber.subscribe(channel);
  });
  afterAll(async () => {
    subscriber?.disconnect();
    await platform?.close();
  });

  const created = async () => {
    const { status, body } = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });
    expect(status).toBe(201);
    return body.id as string;
  };
  const finish = async (taskId: string) => {
    const started = await lifecycle.begin(org.id, taskId, 'test-worker');
    expect(started).toBeDefined();
    await lifecycle.finish(org.id, taskId, started!.attempt, { status: 'SUCCESS', result: null }, [
      { ...started!.current, finishedAt: new Date().toISOString(), status: 'SUCCESS' },
    ]);
  };
  /** The messages the channel carried so far: a marker published after them arrives after them. */
  const messagesSoFar = async () => {
    const marker = `marker-${told.length}-${Date.now()}`;
    await platform.api.get(RedisConnection).client.publish(channel, marker);
    await waitFor('the marker message', () => (told.includes(marker) ? true : undefined), 10_000);
    const messages = told.splice(0).filter((message) => !message.startsWith('marker-'));
    return messages;
  };

  it('tells the writers once for tasks finishing while an earlier one is due, and again once the outbox is drained', async () => {
    const ids = [await created(), await created(), await created()];
    await messagesSoFar();

    for (const id of ids) await finish(id);
    expect(await messagesSoFar()).toEqual([org.id]);

    expect(await lifecycle.persistDue(org.id, async () => undefined)).toBe(3);
    const next = await created();
    await finish(next);
    expect(await messagesSoFar()).toEqual([org.id]);
    expect(await lifecycle.persistDue(org.id, async () => undefined)).toBe(1);
  });
});
