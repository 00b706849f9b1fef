import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { ACCESS_METADATA, type Access } from '../src/auth/access.decorators.js';
import { AUDIT_METADATA } from '../src/audit/audited.decorator.js';
import { call, createToken } from './operational-state-http.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('org audit log: one row per state-changing request, admins only (real HTTP, Postgres)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let adminTokenId: string;
  const as = (token: string) => (method: string, path: string, options?: Parameters<typeof call>[4]) =>
    call(platform.baseUrl, token, method, path, options);
  const auditRows = async (query = '') => {
    const rows = [];
    let cursor: string | null = null;
    do {
      const page = await as(org.token)('GET', `/v1/audit?limit=50${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      rows.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return rows;
  };

  beforeAll(async () => {
    // A webhook below points at loopback, which outbound requests may reach only when allowed.
    platform = await startTestPlatform({ env: { OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32' } });
    org = await platform.createOrg();
    adminTokenId = (await as(org.token)('GET', '/v1/tokens')).body[0].id;
  });
  afterAll(async () => {
    await platform.close();
  });

  it('marks every state-changing org route as audited (the session exchange and realtime broadcasts change nothing and are the exceptions)', () => {
    const unaudited: string[] = [];
    let audited = 0;
    for (const module of platform.api.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        const controller = wrapper.metatype as { prototype: Record<string, unknown> } & object;
        for (const name of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = controller.prototype[name];
          if (name === 'constructor' || typeof handler !== 'function') continue;
          const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
          const access = (Reflect.getMetadata(ACCESS_METADATA, handler) ?? Reflect.getMetadata(ACCESS_METADATA, controller)) as
            Access | undefined;
          if (method === undefined || method === RequestMethod.GET || access?.kind !== 'org') continue;
          const route = `${RequestMethod[method]} /${Reflect.getMetadata(PATH_METADATA, controller)}/${Reflect.getMetadata(PATH_METADATA, handler)}`;
          if (Reflect.getMetadata(AUDIT_METADATA, handler)) audited += 1;
          else unaudited.push(route);
        }
      }
    }
    // A broadcast is a message to the org's live channels: it is relayed, not stored as state.
    expect(unaudited.sort()).toEqual([
      'POST /realtime/v1/api/broadcast',
      'POST /realtime/v1/api/broadcast/:topic/events/:event',
      'POST /v1/auth/session',
    ]);
    // The scan sees the routes at all: tokens, tasks, resources, schedules, webhooks, triggers, config, documents.
    expect(audited).toBeGreaterThanOrEqual(26);
  });

  it('records each action with its actor, target, request id, source address and outcome, and never a value', async () => {
    const admin = as(org.token);
    const member = await createToken(platform.baseUrl, org.token, 'member', 'deployer');
    const doomed = await createToken(platform.baseUrl, org.token, 'viewer', 'doomed');
    expect((await admin('DELETE', `/v1/tokens/${doomed.id}`)).status).toBe(204);

    const task = await admin('POST', '/v1/tasks', { body: { type: 'sleep', params: { ms: 60_000 } } });
    expect((await admin('POST', `/v1/tasks/${task.body.id}/cancel`)).status).toBe(202);

    const pool = await admin('POST', '/v1/pools', { body: { name: 'boxes', kind: 'box' } });
    const leased = await admin('POST', '/v1/pools/boxes/environments', { body: { name: 'box-1' } });
    const spare = await admin('POST', '/v1/pools/boxes/environments', { body: { name: 'box-2' } });
    expect((await admin('PATCH', `/v1/pools/boxes/environments/${spare.body.id}`, { body: { attributes: { size: 'l' } } })).status).toBe(
      200,
    );
    expect((await admin('DELETE', `/v1/pools/boxes/environments/${spare.body.id}`)).status).toBe(200);
    const lease = await admin('POST', '/v1/pools/boxes/allocations', { body: { holder: 'ci', ttlSeconds: 60 } });
    expect((await admin('POST', `/v1/allocations/${lease.body.id}/extend`, { body: { ttlSeconds: 120 } })).status).toBe(200);
    expect((await admin('DELETE', `/v1/allocations/${lease.body.id}`)).status).toBe(204);

    const schedule = await admin('POST', '/v1/schedules', { body: { name: 'nightly', cron: '0 3 * * *', task: { type: 'noop' } } });
    for (const step of ['pause', 'resume']) expect((await admin('POST', `/v1/schedules/${schedule.body.id}/${step}`)).status).toBe(200);
    expect((await admin('DELETE', `/v1/schedules/${schedule.body.id}`)).status).toBe(204);

    const webhook = await admin('POST', '/v1/webhooks', {
      body: { url: 'http://127.0.0.1:9/hook', events: ['task.failed'], secret: 'a-webhook-secret-value' },
    });
    expect((await admin('DELETE', `/v1/webhooks/${webhook.body.id}`)).status).toBe(204);

    await platform.createUserTable(org.slug, 'audited_items');
    const trigger = await admin('POST', '/v1/triggers', {
      body: { name: 'on-delete', table: 'audited_items', events: ['DELETE'], task: { type: 'noop' } },
    });
    expect((await admin('PATCH', `/v1/triggers/${trigger.body.id}`, { body: { enabled: false } })).status).toBe(200);
    expect((await admin('DELETE', `/v1/triggers/${trigger.body.id}`)).status).toBe(204);

    const write = as(member.token);
    const headers = { 'x-request-id': 'audit-config-put' };
    expect((await write('PUT', '/v1/config/db.password', { body: { value: 'super-secret-value' }, headers })).status).toBe(200);
    expect((await write('DELETE', '/v1/config/db.password')).status).toBe(204);
    expect(
      (await write('POST', '/v1/collections/apps/documents', { body: { id: 'a1', data: { secret: 'doc-secret-value' } } })).status,
    ).toBe(201);
    expect((await write('PUT', '/v1/collections/apps/documents/a1', { body: { data: { v: 2 } } })).status).toBe(200);
    expect((await write('PATCH', '/v1/collections/apps/documents/a1', { body: { data: { v: 3 } } })).status).toBe(200);
    expect((await write('DELETE', '/v1/collections/apps/documents/a1')).status).toBe(204);

    const rows = await auditRows();
    const adminActor = { kind: 'token', id: adminTokenId, name: expect.any(String), role: 'admin' };
    const memberActor = { kind: 'token', id: member.id, name: 'deployer', role: 'member' };
    const expected: [string, string, string | null, object][] = [
      ['token.create', 'token', member.id, adminActor],
      ['token.create', 'token', doomed.id, adminActor],
      ['token.revoke', 'token', doomed.id, adminActor],
      ['task.create', 'task', task.body.id, adminActor],
      ['task.cancel', 'task', task.body.id, adminActor],
      ['pool.create', 'pool', pool.body.id, adminActor],
      ['environment.create', 'environment', leased.body.id, adminActor],
      ['environment.create', 'environment', spare.body.id, adminActor],
      ['environment.update', 'environment', spare.body.id, adminActor],
      ['environment.retire', 'environment', spare.body.id, adminActor],
      ['allocation.create', 'allocation', lease.body.id, adminActor],
      ['allocation.extend', 'allocation', lease.body.id, adminActor],
      ['allocation.release', 'allocation', lease.body.id, adminActor],
      ['schedule.create', 'schedule', schedule.body.id, adminActor],
      ['schedule.pause', 'schedule', schedule.body.id, adminActor],
      ['schedule.resume', 'schedule', schedule.body.id, adminActor],
      ['schedule.delete', 'schedule', schedule.body.id, adminActor],
      ['webhook.create', 'webhook', webhook.body.id, adminActor],
      ['webhook.delete', 'webhook', webhook.body.id, adminActor],
      ['trigger.create', 'trigger', trigger.body.id, adminActor],
      ['trigger.update', 'trigger', trigger.body.id, adminActor],
      ['trigger.delete', 'trigger', trigger.body.id, adminActor],
      ['config.put', 'config', 'db.password', memberActor],
      ['config.delete', 'config', 'db.password', memberActor],
      ['document.create', 'document', 'apps/a1', memberActor],
      ['document.replace', 'document', 'apps/a1', memberActor],
      ['document.patch', 'document', 'apps/a1', memberActor],
      ['document.delete', 'document', 'apps/a1', memberActor],
    ];
    // Newest first: the log read oldest first is exactly the requests made, in order.
    expect([...rows].reverse()).toEqual(
      expected.map(([action, type, id, actor]) =>
        expect.objectContaining({
          id: expect.stringMatching(/^\d+$/),
          at: expect.any(String),
          action,
          target: { type, id },
          actor,
          requestId: expect.any(String),
          sourceIp: expect.stringContaining('127.0.0.1'),
          outcome: 'success',
        }),
      ),
    );
    expect(rows.find((row) => row.action === 'config.put').requestId).toBe('audit-config-put');
    expect(JSON.stringify(rows)).not.toMatch(/super-secret-value|doc-secret-value|a-webhook-secret-value/);
    expect(JSON.stringify(rows)).not.toContain('plat_');
  });

  it('records refused changes as failures, and sessions as session actors', async () => {
    const admin = as(org.token);
    await admin('PUT', '/v1/config/guarded', { body: { value: 1 } });
    const stale = await admin('PUT', '/v1/config/guarded', {
      body: { value: 2 },
      headers: { 'if-match': '"9"', 'x-request-id': 'stale-write' },
    });
    expect(stale.status).toBe(412);
    const missing = await admin('DELETE', '/v1/collections/none/documents/nope', { headers: { 'x-request-id': 'missing-doc' } });
    expect(missing.status).toBe(404);
    const rows = await auditRows();
    expect(rows.filter((row) => row.requestId === 'stale-write')).toEqual([
      expect.objectContaining({ action: 'config.put', target: { type: 'config', id: 'guarded' }, outcome: 'failure' }),
    ]);
    expect(rows.filter((row) => row.requestId === 'missing-doc')).toEqual([
      expect.objectContaining({ action: 'document.delete', target: { type: 'document', id: 'none/nope' }, outcome: 'failure' }),
    ]);
    expect((await admin('GET', '/v1/config/guarded')).body.version).toBe(1);

    const session = (await admin('POST', '/v1/auth/session')).body.access_token as string;
    expect(
      (await as(session)('PUT', '/v1/config/from-session', { body: { value: true }, headers: { 'x-request-id': 'via-session' } })).status,
    ).toBe(200);
    expect((await auditRows()).filter((row) => row.requestId === 'via-session')).toEqual([
      expect.objectContaining({
        actor: { kind: 'session', id: adminTokenId, name: expect.any(String), role: 'admin' },
        outcome: 'success',
      }),
    ]);
  });

  it('records exactly one row per request when many arrive at once, each readable as soon as its request is answered', async () => {
    const requestIds = Array.from({ length: 40 }, (_, index) => `burst-${index}`);
    const answers = await Promise.all(
      requestIds.map((id) => as(org.token)('POST', '/v1/tasks', { body: { type: 'noop' }, headers: { 'x-request-id': id } })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(requestIds.map(() => 201));
    const rows = (await auditRows('&action=task.create')).filter((row) => row.requestId.startsWith('burst-'));
    expect(new Map(rows.map((row) => [row.requestId, row.target.id]))).toEqual(
      new Map(requestIds.map((id, index) => [id, answers[index]!.body.id])),
    );
    expect(rows).toHaveLength(requestIds.length);
  });

  it('filters by action, actor, target type and time, pages newest first, and refuses viewers and members', async () => {
    const all = await auditRows();
    const puts = await auditRows('&action=config.put');
    expect(puts.map((row) => row.id)).toEqual(all.filter((row) => row.action === 'config.put').map((row) => row.id));
    const byAdmin = await auditRows(`&actorId=${adminTokenId}`);
    expect(byAdmin.map((row) => row.id)).toEqual(all.filter((row) => row.actor.id === adminTokenId).map((row) => row.id));
    const documents = await auditRows('&targetType=document');
    expect(documents.map((row) => row.id)).toEqual(all.filter((row) => row.target.type === 'document').map((row) => row.id));
    const ids = all.map((row) => Number(row.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const middle = all[Math.floor(all.length / 2)];
    const since = await auditRows(`&after=${encodeURIComponent(middle.at)}`);
    expect(since.every((row) => row.at >= middle.at)).toBe(true);
    expect(since.map((row) => row.id)).toContain(middle.id);
    const until = await auditRows(`&before=${encodeURIComponent(middle.at)}`);
    expect(until.every((row) => row.at < middle.at)).toBe(true);
    expect(until.length + since.length).toBe(all.length);

    const page = await as(org.token)('GET', '/v1/audit?limit=2');
    expect([page.body.items.length, typeof page.body.nextCursor]).toEqual([2, 'string']);
    for (const bad of ['limit=0', 'limit=501', 'after=yesterday', 'cursor=abc', 'unknown=1']) {
      expect([bad, (await as(org.token)('GET', `/v1/audit?${bad}`)).status]).toEqual([bad, 400]);
    }

    for (const role of ['viewer', 'member'] as const) {
      const token = await createToken(platform.baseUrl, org.token, role);
      expect([role, (await as(token.token)('GET', '/v1/audit')).status]).toEqual([role, 403]);
    }
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      expect([method, (await as(org.token)(method, `/v1/audit/${all[0].id}`, { body: {} })).status]).toEqual([method, 404]);
    }
  });
});
