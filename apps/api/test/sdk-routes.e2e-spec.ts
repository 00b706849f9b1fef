import { PlatformApiError, PlatformClient } from '#libs/client';
import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('client SDK over the scheduling, trigger and resource routes (real HTTP)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let client: PlatformClient;

  beforeAll(async () => {
    platform = await startTestPlatform();
    org = await platform.createOrg();
    client = new PlatformClient({ url: platform.baseUrl, token: org.token });
  });
  afterAll(async () => {
    client.close();
    await platform.close();
  });

  it('creates, lists and removes schedules, webhooks and triggers, and leases from a pool', async () => {
    expect(await client.me()).toEqual(
      expect.objectContaining({ kind: 'org', role: 'admin', org: expect.objectContaining({ id: org.id }) }),
    );

    const schedule = await client.schedules.create({ name: 'hourly', cron: '0 * * * *', task: { type: 'noop' } });
    expect((await client.schedules.pause(schedule.id)).paused).toBe(true);
    expect((await client.schedules.list()).map((entry) => entry.id)).toEqual([schedule.id]);
    expect((await client.schedules.runs(schedule.id)).items).toEqual([]);
    await client.schedules.delete(schedule.id);
    expect(await client.schedules.list()).toEqual([]);
    await expect(client.schedules.runs(schedule.id)).rejects.toMatchObject({ status: 404 });

    const webhook = await client.webhooks.create({
      url: 'http://127.0.0.1:9/hook',
      events: ['task.failed'],
      secret: 'sixteen-characters!',
    });
    expect(await client.webhooks.deliveries(webhook.id)).toEqual([]);
    await client.webhooks.delete(webhook.id);
    expect(await client.webhooks.list()).toEqual([]);
    await expect(client.webhooks.deliveries(webhook.id)).rejects.toMatchObject({ status: 404 });

    const trigger = await client.triggers.create({ name: 't', table: 'config_entries', events: ['DELETE'], task: { type: 'noop' } });
    expect((await client.triggers.setEnabled(trigger.id, false)).enabled).toBe(false);
    await client.triggers.delete(trigger.id);
    expect(await client.triggers.list()).toEqual([]);

    const pool = await client.pools.create({ name: 'sandboxes', kind: 'sandbox' });
    await client.pools.addEnvironment(pool.name, { name: 'sandbox-1' });
    const lease = await client.pools.allocate(pool.name, { holder: 'sdk', ttlSeconds: 60 });
    await expect(client.pools.allocate(pool.name, { holder: 'second', ttlSeconds: 60 })).rejects.toMatchObject({ status: 409 });
    const leasedUntil = Date.parse(lease.expiresAt);
    await client.allocations.extend(lease.id, 120);
    const extended = (await platform.request('GET', `/v1/allocations/${lease.id}`, { token: org.token })).body;
    expect(extended.status).toBe('active');
    expect(Date.parse(extended.expiresAt)).toBeGreaterThan(leasedUntil);
    await client.allocations.release(lease.id);
    expect((await platform.request('GET', `/v1/allocations/${lease.id}`, { token: org.token })).body).toMatchObject({
      id: lease.id,
      status: 'released',
    });
    await waitFor('the environment to be free', async () => ((await client.pools.list())[0]!.counts.free === 1 ? true : undefined));

    const delayed = await client.tasks.create({ type: 'noop', class: 'batch', delayMs: 60_000 });
    expect(delayed.status).toBe('SCHEDULED');
    await expect(client.tasks.create({ type: 'noop', class: 'urgent' as 'batch' })).rejects.toBeInstanceOf(PlatformApiError);
  });
});
