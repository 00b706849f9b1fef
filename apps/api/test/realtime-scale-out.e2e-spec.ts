import { Redis } from 'ioredis';
import pg from 'pg';
import { findFreePort } from '#libs/runtime';
import { spawnPlatformProcess, waitFor, waitForBarrier, type PlatformProcess } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

/** Rows inserted while the relaying API process is killed. */
const ROWS = 300;
/** Rows after which the relaying process is killed. */
const KILL_AFTER = 100;

describe('realtime across API processes: exactly once per client, relay failover on SIGKILL without loss (real processes)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let redis: Redis;
  const apis: { process: PlatformProcess; url: string }[] = [];
  const sockets: TestSocket[] = [];

  const startApi = async () => {
    const port = await findFreePort();
    const process = spawnPlatformProcess('api', {
      ...platform.env,
      PORT: String(port),
      REALTIME_RELAY: 'on',
      REALTIME_RELAY_POLL_MS: '200',
      REALTIME_RELAY_LEASE_MS: '1500',
    });
    await process.waitForOutput(/API listening on/);
    const api = { process, url: `http://127.0.0.1:${port}` };
    apis.push(api);
    return api;
  };
  const leaseHolderPid = async () => {
    const holder = await redis.get(`${platform.redis.prefix}:{org:${org.id}}:relay:lease`);
    return holder ? Number(holder.split(':')[1]) : undefined;
  };

  beforeAll(async () => {
    // The in-process API serves HTTP and runs the worker but never relays: the spawned API processes compete for that.
    platform = await startTestPlatform({ env: { REALTIME_RELAY: 'off' } });
    redis = new Redis(platform.redis.url);
    org = await platform.createOrg();
    await platform.queryOrgDatabase(
      org.slug,
      'CREATE TABLE public.scale_items (key text PRIMARY KEY, value text); GRANT SELECT ON public.scale_items TO authenticated',
    );
    await Promise.all([startApi(), startApi()]);
    await waitFor('one API process to take the relay', leaseHolderPid, 20_000);
  });
  afterAll(async () => {
    for (const client of sockets) client.close();
    for (const api of apis) {
      if (api.process.child.exitCode === null && api.process.child.signalCode === null) {
        api.process.child.kill('SIGTERM');
        await api.process.waitForExit(20_000);
      }
    }
    redis.disconnect();
    await platform.close();
  });

  const connect = async (url: string) => {
    const client = await connectRealtime(url, org.token);
    sockets.push(client);
    return client;
  };

  it('delivers each event exactly once to a client on each of two API processes', async () => {
    const clients = await Promise.all(apis.map((api) => connect(api.url)));
    for (const client of clients) {
      expect((await client.subscribe({ topic: 'tasks', filter: { status: 'QUEUED' } })).ok).toBe(true);
      expect((await client.subscribe({ topic: 'table', id: 'scale_items', filter: { value: 'scale' } })).ok).toBe(true);
    }
    const tasks: string[] = [];
    for (let i = 0; i < 20; i++)
      tasks.push((await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } })).body.id);
    for (let i = 0; i < 20; i++) {
      await platform.queryOrgDatabase(org.slug, `INSERT INTO public.scale_items (key, value) VALUES ($1, 'scale')`, [`scale-${i}`]);
    }
    for (const client of clients) {
      await client.waitForEvents(40, () => true, 20_000);
    }
    // Drained: no task can queue again, and a last row, behind every earlier change in the stream, has reached both clients.
    await platform.waitForQueuesDrained();
    const isEnd = (event: any) => event.data.record?.key === 'scale-end';
    await waitForBarrier(
      'the relay and both API processes',
      () => platform.queryOrgDatabase(org.slug, `INSERT INTO public.scale_items (key, value) VALUES ('scale-end', 'scale')`),
      () => (clients.every((client) => client.events.some(isEnd)) ? true : undefined),
    );
    const [first, second] = clients.map((client) => client.events.filter((event) => !isEnd(event)).map((event) => event.id));
    expect(new Set(first).size).toBe(first!.length);
    expect(new Set(second).size).toBe(second!.length);
    expect([...first!].sort()).toEqual([...second!].sort());
    expect(first).toHaveLength(40);
    expect(clients[0]!.events.filter((event) => event.type === 'task.updated').map((event) => event.data.id)).toEqual(tasks);
  });

  it('loses no row change when the relaying API process is killed with SIGKILL mid-stream', async () => {
    const holderPid = (await leaseHolderPid())!;
    const holder = apis.find((api) => api.process.child.pid === holderPid)!;
    expect(holder).toBeDefined();
    // The client sits on the in-process API, which survives; the relay must move to the other spawned process.
    const client = await connect(platform.baseUrl);
    expect((await client.subscribe({ topic: 'table', id: 'scale_items', filter: { value: 'failover' } })).ok).toBe(true);

    const [{ database }] = [(await platform.request('GET', `/v1/admin/orgs/${org.slug}`)).body.instance];
    const writer = new pg.Client({
      connectionString: Object.assign(new URL(platform.database.url), { pathname: `/${database}` }).toString(),
    });
    await writer.connect();
    try {
      for (let i = 0; i < ROWS; i++) {
        if (i === KILL_AFTER) holder.process.child.kill('SIGKILL');
        await writer.query(`INSERT INTO public.scale_items (key, value) VALUES ($1, 'failover')`, [`failover-${i}`]);
      }
    } finally {
      await writer.end();
    }
    await holder.process.waitForExit();
    const received = await waitFor(
      `all ${ROWS} inserted rows to be delivered after failover`,
      () => {
        const keys = new Set(client.events.map((event) => event.data.record.key));
        return keys.size === ROWS ? keys : undefined;
      },
      30_000,
    );
    expect(received.size).toBe(ROWS);
    const survivor = apis.find((api) => api !== holder)!;
    expect(await leaseHolderPid()).toBe(survivor.process.child.pid);
    // Drained: a last row, committed after all the others, reaches the client after every replay the failover caused.
    await waitForBarrier(
      'the surviving relay',
      () => platform.queryOrgDatabase(org.slug, `INSERT INTO public.scale_items (key, value) VALUES ('failover-end', 'failover')`),
      () => client.events.find((event) => event.data.record.key === 'failover-end'),
    );
    // Stored events are never emitted twice to a subscriber; the relay skips replayed transactions it had stored.
    expect(client.events).toHaveLength(ROWS + 1);
  });
});
