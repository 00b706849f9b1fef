import { PlatformApiError, PlatformClient } from '#libs/client';
import { call, createToken } from './operational-state-http.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

describe('configuration and document stores over real HTTP (Postgres under RLS, Redis)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let other: CreatedOrg;
  let member: { id: string; token: string };
  let viewer: { id: string; token: string };
  const as = (token: string) => (method: string, path: string, options?: Parameters<typeof call>[4]) =>
    call(platform.baseUrl, token, method, path, options);

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { CONFIG_VALUE_MAX_BYTES: '1024', DOCUMENT_MAX_BYTES: '2048' } });
    [org, other] = await Promise.all([platform.createOrg(), platform.createOrg()]);
    member = await createToken(platform.baseUrl, org.token, 'member');
    viewer = await createToken(platform.baseUrl, org.token, 'viewer');
  });
  afterAll(async () => {
    await platform.close();
  });

  describe('configuration store', () => {
    it('puts, gets with ETag and 304, lists by prefix with a cursor, and deletes (200, 304, 204, 404)', async () => {
      const write = as(member.token);
      const put = await write('PUT', '/v1/config/deploy%2Fregion', { body: { value: { name: 'eu-west', zones: 3 } } });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({
        key: 'deploy/region',
        value: { name: 'eu-west', zones: 3 },
        version: 1,
        updatedAt: expect.any(String),
        updatedBy: member.id,
      });
      expect(put.headers.get('etag')).toBe('"1"');

      const read = as(viewer.token);
      const got = await read('GET', '/v1/config/deploy%2Fregion');
      expect([got.status, got.headers.get('etag'), got.body]).toEqual([200, '"1"', put.body]);
      const unchanged = await read('GET', '/v1/config/deploy%2Fregion', { headers: { 'if-none-match': '"1"' } });
      expect([unchanged.status, unchanged.body, unchanged.headers.get('etag')]).toEqual([304, undefined, '"1"']);
      expect((await read('GET', '/v1/config/deploy%2Fregion', { headers: { 'if-none-match': '"7"' } })).status).toBe(200);

      const second = await write('PUT', '/v1/config/deploy%2Fregion', { body: { value: null } });
      expect([second.status, second.body.version, second.body.value]).toEqual([200, 2, null]);

      for (const key of ['app.a', 'app.b', 'app.c', 'other']) {
        expect((await write('PUT', `/v1/config/${key}`, { body: { value: key } })).status).toBe(200);
      }
      const first = await read('GET', '/v1/config?prefix=app.&limit=2');
      expect([first.status, first.body.items.map((entry: { key: string }) => entry.key)]).toEqual([200, ['app.a', 'app.b']]);
      const next = await read('GET', `/v1/config?prefix=app.&limit=2&cursor=${first.body.nextCursor}`);
      expect([next.body.items.map((entry: { key: string }) => entry.key), next.body.nextCursor]).toEqual([['app.c'], null]);
      expect((await read('GET', '/v1/config')).body.items).toHaveLength(5);

      expect((await write('DELETE', '/v1/config/other')).status).toBe(204);
      expect((await read('GET', '/v1/config/other')).status).toBe(404);
      expect((await write('DELETE', '/v1/config/other')).status).toBe(404);
    });

    it('answers 412 when If-Match names a moved version or If-None-Match: * meets an existing key', async () => {
      const write = as(org.token);
      const created = await write('PUT', '/v1/config/guarded', { body: { value: 1 }, headers: { 'if-none-match': '*' } });
      expect([created.status, created.body.version]).toEqual([200, 1]);
      expect((await write('PUT', '/v1/config/guarded', { body: { value: 2 }, headers: { 'if-none-match': '*' } })).status).toBe(412);

      const matched = await write('PUT', '/v1/config/guarded', { body: { value: 2 }, headers: { 'if-match': '"1"' } });
      expect([matched.status, matched.body.version, matched.headers.get('etag')]).toEqual([200, 2, '"2"']);
      expect((await write('PUT', '/v1/config/guarded', { body: { value: 3 }, headers: { 'if-match': '"1"' } })).status).toBe(412);
      expect((await write('PUT', '/v1/config/never-set', { body: { value: 3 }, headers: { 'if-match': '"1"' } })).status).toBe(412);
      expect((await write('DELETE', '/v1/config/guarded', { headers: { 'if-match': '"1"' } })).status).toBe(412);
      expect((await write('GET', '/v1/config/guarded')).body.value).toBe(2);
      expect((await write('DELETE', '/v1/config/guarded', { headers: { 'if-match': '"2"' } })).status).toBe(204);
    });

    it('lets exactly one of two writers racing with the same If-Match win', async () => {
      const write = as(member.token);
      const start = await write('PUT', '/v1/config/raced', { body: { value: 'start' } });
      for (let round = 0; round < 5; round += 1) {
        const version = start.body.version + round;
        const answers = await Promise.all(
          ['left', 'right'].map((value) => write('PUT', '/v1/config/raced', { body: { value }, headers: { 'if-match': `"${version}"` } })),
        );
        expect(answers.map((answer) => answer.status).sort()).toEqual([200, 412]);
        const winner = answers.find((answer) => answer.status === 200)!;
        const stored = await write('GET', '/v1/config/raced');
        expect([stored.body.version, stored.body.value]).toEqual([version + 1, winner.body.value]);
      }
    });

    it('refuses bad keys, bad JSON, oversize and missing values and bad headers with 400, and viewers with 403', async () => {
      const write = as(member.token);
      const badKeys = ['has%20space', 'semi%3Bcolon', 'x'.repeat(201), '%C3%A9t%C3%A9'];
      for (const key of badKeys) {
        expect([key, (await write('PUT', `/v1/config/${key}`, { body: { value: 1 } })).status]).toEqual([key, 400]);
        expect([key, (await write('GET', `/v1/config/${key}`)).status]).toEqual([key, 400]);
      }
      for (const rawBody of ['{"value": ', '[]', '[{"value": 1}]', '"text"', 'null']) {
        expect([rawBody, (await write('PUT', '/v1/config/k', { rawBody })).status]).toEqual([rawBody, 400]);
      }
      const oversize = await write('PUT', '/v1/config/k', { body: { value: 'x'.repeat(1100) } });
      expect([oversize.status, oversize.body.message]).toEqual([400, ['value must be at most 1024 bytes of JSON']]);
      expect((await write('PUT', '/v1/config/k', { body: {} })).status).toBe(400);
      expect((await write('PUT', '/v1/config/k', { body: { value: 1, extra: true } })).status).toBe(400);
      expect((await write('PUT', '/v1/config/k', { body: { value: 1 }, headers: { 'if-match': 'yesterday' } })).status).toBe(400);
      expect((await write('PUT', '/v1/config/k', { body: { value: 1 }, headers: { 'if-none-match': '"3"' } })).status).toBe(400);
      expect((await write('GET', '/v1/config?cursor=%%%')).status).toBe(400);
      expect((await write('GET', '/v1/config?limit=0')).status).toBe(400);
      expect((await write('GET', '/v1/config/k')).status).toBe(404);

      const read = as(viewer.token);
      expect((await read('PUT', '/v1/config/k', { body: { value: 1 } })).status).toBe(403);
      expect((await read('DELETE', '/v1/config/app.a')).status).toBe(403);
      expect((await read('GET', '/v1/config/app.a')).status).toBe(200);
    });

    it("answers 404 for another org's keys and never lists them", async () => {
      const foreign = as(other.token);
      expect((await foreign('GET', '/v1/config/app.a')).status).toBe(404);
      expect((await foreign('DELETE', '/v1/config/app.a')).status).toBe(404);
      expect((await foreign('PUT', '/v1/config/app.a', { body: { value: 1 }, headers: { 'if-match': '"1"' } })).status).toBe(412);
      expect((await foreign('GET', '/v1/config')).body).toEqual({ items: [], nextCursor: null });
      expect((await as(org.token)('GET', '/v1/config/app.a')).body.value).toBe('app.a');
    });
  });

  describe('document store', () => {
    const path = (collection: string, id?: string) => `/v1/collections/${collection}/documents${id === undefined ? '' : `/${id}`}`;

    it('creates (201, 409), reads with ETag and 304, replaces, merge-patches and deletes with versions one up per write', async () => {
      const write = as(member.token);
      const created = await write('POST', path('deployments'), {
        body: { id: 'web-1', data: { env: 'prod', image: { tag: '1.0' }, replicas: 2 } },
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        collection: 'deployments',
        id: 'web-1',
        data: { env: 'prod', image: { tag: '1.0' }, replicas: 2 },
        version: 1,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(created.headers.get('etag')).toBe('"1"');
      expect((await write('POST', path('deployments'), { body: { id: 'web-1', data: {} } })).status).toBe(409);
      const generated = await write('POST', path('deployments'), { body: { data: { env: 'dev' } } });
      expect([generated.status, generated.body.id]).toEqual([201, expect.stringMatching(/^[0-9a-f-]{36}$/)]);

      const read = as(viewer.token);
      const got = await read('GET', path('deployments', 'web-1'));
      expect([got.status, got.headers.get('etag'), got.body]).toEqual([200, '"1"', created.body]);
      expect((await read('GET', path('deployments', 'web-1'), { headers: { 'if-none-match': '"1"' } })).status).toBe(304);

      const replaced = await write('PUT', path('deployments', 'web-1'), {
        body: { data: { env: 'prod', image: { tag: '1.1', digest: 'sha256:ab' }, replicas: 2 } },
        headers: { 'if-match': '"1"' },
      });
      expect([replaced.status, replaced.body.version, replaced.headers.get('etag')]).toEqual([200, 2, '"2"']);
      const patched = await write('PATCH', path('deployments', 'web-1'), {
        body: { data: { image: { digest: null }, replicas: 3, owner: 'ops' } },
        headers: { 'if-match': '"2"' },
      });
      expect([patched.status, patched.body.version, patched.body.data]).toEqual([
        200,
        3,
        { env: 'prod', image: { tag: '1.1' }, replicas: 3, owner: 'ops' },
      ]);
      const unconditional = await write('PATCH', path('deployments', 'web-1'), { body: { data: { owner: null } } });
      expect([unconditional.body.version, unconditional.body.data.owner]).toEqual([4, undefined]);

      expect((await write('PUT', path('deployments', 'web-1'), { body: { data: {} }, headers: { 'if-match': '"3"' } })).status).toBe(412);
      expect((await write('PATCH', path('deployments', 'web-1'), { body: { data: {} }, headers: { 'if-match': '"3"' } })).status).toBe(412);
      expect((await write('DELETE', path('deployments', 'web-1'), { headers: { 'if-match': '"3"' } })).status).toBe(412);
      expect((await write('DELETE', path('deployments', 'web-1'), { headers: { 'if-match': '"4"' } })).status).toBe(204);
      expect((await read('GET', path('deployments', 'web-1'))).status).toBe(404);
      expect((await write('PUT', path('deployments', 'web-1'), { body: { data: {} } })).status).toBe(404);
      expect((await write('PATCH', path('deployments', 'web-1'), { body: { data: {} } })).status).toBe(404);
      expect((await write('DELETE', path('deployments', 'web-1'))).status).toBe(404);
    });

    it('answers match queries by containment, newest first, with a cursor, and lists collections with counts', async () => {
      const write = as(org.token);
      for (let index = 0; index < 5; index += 1) {
        const data = { env: index % 2 === 0 ? 'prod' : 'dev', index, tags: ['web', `n${index}`] };
        expect((await write('POST', path('services'), { body: { id: `svc-${index}`, data } })).status).toBe(201);
      }
      const match = encodeURIComponent(JSON.stringify({ env: 'prod' }));
      const first = await write('GET', `${path('services')}?match=${match}&limit=2`);
      expect([first.status, first.body.items.map((document: { id: string }) => document.id)]).toEqual([200, ['svc-4', 'svc-2']]);
      const rest = await write('GET', `${path('services')}?match=${match}&limit=2&cursor=${first.body.nextCursor}`);
      expect([rest.body.items.map((document: { id: string }) => document.id), rest.body.nextCursor]).toEqual([['svc-0'], null]);
      const byTag = await write('GET', `${path('services')}?match=${encodeURIComponent('{"tags":["n3"]}')}`);
      expect(byTag.body.items.map((document: { id: string }) => document.id)).toEqual(['svc-3']);
      expect((await write('GET', path('services'))).body.items).toHaveLength(5);
      expect((await write('GET', path('empty'))).body).toEqual({ items: [], nextCursor: null });

      const collections = await as(viewer.token)('GET', '/v1/collections');
      expect(collections.status).toBe(200);
      expect(collections.body).toEqual(expect.arrayContaining([{ collection: 'services', count: 5 }]));
      expect(collections.body.map((entry: { collection: string }) => entry.collection)).toEqual(
        [...collections.body.map((entry: { collection: string }) => entry.collection)].sort(),
      );
    });

    it('lets exactly one of two writers racing with the same If-Match win, for PUT and for PATCH', async () => {
      const write = as(member.token);
      expect((await write('POST', path('races'), { body: { id: 'r', data: { n: 0 } } })).status).toBe(201);
      let version = 1;
      for (const method of ['PUT', 'PATCH', 'PUT', 'PATCH']) {
        const answers = await Promise.all(
          ['left', 'right'].map((side) =>
            write(method, path('races', 'r'), { body: { data: { side } }, headers: { 'if-match': `"${version}"` } }),
          ),
        );
        expect([method, answers.map((answer) => answer.status).sort()]).toEqual([method, [200, 412]]);
        const winner = answers.find((answer) => answer.status === 200)!;
        const stored = await write('GET', path('races', 'r'));
        expect([stored.body.version, stored.body.data.side]).toEqual([version + 1, winner.body.data.side]);
        version += 1;
      }
    });

    it('refuses bad match, bad JSON, oversize or non-object data and bad names with 400, and viewers with 403', async () => {
      const write = as(member.token);
      for (const match of ['{not json', '[1,2]', '"text"', '42']) {
        expect([match, (await write('GET', `${path('services')}?match=${encodeURIComponent(match)}`)).status]).toEqual([match, 400]);
      }
      expect((await write('GET', `${path('services')}?cursor=abc`)).status).toBe(400);
      for (const rawBody of ['{"data": {', '[]', '"text"']) {
        expect([rawBody, (await write('POST', path('services'), { rawBody })).status]).toEqual([rawBody, 400]);
      }
      const oversize = await write('POST', path('services'), { body: { data: { blob: 'x'.repeat(2100) } } });
      expect([oversize.status, oversize.body.message]).toEqual([400, ['data must be at most 2048 bytes of JSON']]);
      for (const data of [[1], 'text', null, 3]) {
        expect([data, (await write('POST', path('services'), { body: { data } })).status]).toEqual([data, 400]);
      }
      expect((await write('POST', path('services'), { body: {} })).status).toBe(400);
      expect((await write('POST', path('services'), { body: { id: 'bad id', data: {} } })).status).toBe(400);
      expect((await write('POST', path('bad%20name'), { body: { data: {} } })).status).toBe(400);
      expect((await write('GET', path('services', 'bad%20id'))).status).toBe(400);
      expect((await write('PATCH', path('services', 'svc-1'), { body: { data: [1] } })).status).toBe(400);
      expect((await write('PUT', path('services', 'svc-1'), { body: { data: {} }, headers: { 'if-match': 'v1' } })).status).toBe(400);

      const read = as(viewer.token);
      expect((await read('POST', path('services'), { body: { data: {} } })).status).toBe(403);
      expect((await read('PUT', path('services', 'svc-1'), { body: { data: {} } })).status).toBe(403);
      expect((await read('PATCH', path('services', 'svc-1'), { body: { data: {} } })).status).toBe(403);
      expect((await read('DELETE', path('services', 'svc-1'))).status).toBe(403);
      expect((await read('GET', path('services', 'svc-1'))).status).toBe(200);
    });

    it("answers 404 for another org's documents and never lists them", async () => {
      const foreign = as(other.token);
      expect((await foreign('GET', path('services', 'svc-1'))).status).toBe(404);
      expect((await foreign('PUT', path('services', 'svc-1'), { body: { data: {} } })).status).toBe(404);
      expect((await foreign('PATCH', path('services', 'svc-1'), { body: { data: {} } })).status).toBe(404);
      expect((await foreign('DELETE', path('services', 'svc-1'))).status).toBe(404);
      expect((await foreign('GET', path('services'))).body).toEqual({ items: [], nextCursor: null });
      expect((await foreign('GET', '/v1/collections')).body).toEqual([]);
      expect((await as(org.token)('GET', path('services', 'svc-1'))).status).toBe(200);
    });
  });
  describe('client SDK', () => {
    it('puts and reads config with conditions, manages documents with match queries, reads the audit log and watches config live', async () => {
      const client = new PlatformClient({ url: platform.baseUrl, token: org.token });
      try {
        const created = await client.config.put('sdk.key', { on: true }, { ifNoneMatch: '*' });
        expect(created.version).toBe(1);
        await expect(client.config.put('sdk.key', 1, { ifNoneMatch: '*' })).rejects.toMatchObject({ status: 412 });
        expect((await client.config.put('sdk.key', 2, { ifMatch: 1 })).version).toBe(2);
        await expect(client.config.delete('sdk.key', { ifMatch: 1 })).rejects.toBeInstanceOf(PlatformApiError);
        expect((await client.config.get('sdk.key')).value).toBe(2);
        expect((await client.config.list({ prefix: 'sdk.' })).items.map((entry) => entry.key)).toEqual(['sdk.key']);

        const live = client.subscribe({ topic: 'config', id: 'sdk.key' });
        const messages = live[Symbol.asyncIterator]();
        expect((await messages.next()).value).toMatchObject({ kind: 'snapshot', snapshot: { key: 'sdk.key', version: 2 } });
        await client.config.delete('sdk.key', { ifMatch: 2 });
        expect((await messages.next()).value).toMatchObject({
          kind: 'event',
          event: { type: 'config.deleted', data: { key: 'sdk.key', version: 3 } },
        });
        live.close();

        const document = await client.documents.create('sdk-docs', { id: 'one', data: { env: 'prod', n: 1 } });
        await client.documents.create('sdk-docs', { data: { env: 'dev' } });
        expect((await client.documents.list('sdk-docs', { match: { env: 'prod' } })).items.map((item) => item.id)).toEqual(['one']);
        const patched = await client.documents.patch('sdk-docs', 'one', { n: null, owner: 'sdk' }, { ifMatch: document.version });
        expect([patched.version, patched.data]).toEqual([2, { env: 'prod', owner: 'sdk' }]);
        await expect(client.documents.replace('sdk-docs', 'one', {}, { ifMatch: 1 })).rejects.toMatchObject({ status: 412 });
        await client.documents.delete('sdk-docs', 'one', { ifMatch: 2 });
        await expect(client.documents.get('sdk-docs', 'one')).rejects.toMatchObject({ status: 404 });
        expect(await client.documents.collections()).toEqual(expect.arrayContaining([{ collection: 'sdk-docs', count: 1 }]));

        const audit = await client.audit.list({ action: 'document.patch', limit: 1 });
        expect(audit.items).toEqual([
          expect.objectContaining({ action: 'document.patch', target: { type: 'document', id: 'sdk-docs/one' } }),
        ]);
      } finally {
        client.close();
      }
    });
  });
  it('describes every route of the three stores in the OpenAPI document', async () => {
    const document = (await (await fetch(`${platform.baseUrl}/docs/openapi.json`)).json()) as { paths: Record<string, object> };
    const methods = (path: string) => Object.keys(document.paths[path] ?? {}).sort();
    expect(methods('/v1/config')).toEqual(['get']);
    expect(methods('/v1/config/{key}')).toEqual(['delete', 'get', 'put']);
    expect(methods('/v1/collections')).toEqual(['get']);
    expect(methods('/v1/collections/{collection}/documents')).toEqual(['get', 'post']);
    expect(methods('/v1/collections/{collection}/documents/{id}')).toEqual(['delete', 'get', 'patch', 'put']);
    expect(methods('/v1/audit')).toEqual(['get']);
  });
});
