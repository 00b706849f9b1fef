import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type TestPlatform } from './platform-harness.js';

/** A Phoenix frame as supabase-js (serializer 2.0.0) sends and reads it. */
type Frame = [joinRef: string | null, ref: string | null, topic: string, event: string, payload: any];

/**
 * A stand-in for Supabase Realtime speaking its Phoenix channel protocol over WebSocket:
 * no Supabase Realtime server can run here. It acknowledges joins (echoing the client's
 * postgres_changes bindings with ids) and heartbeats, and pushes the changes a test asks for.
 */
class PhoenixRealtimeDouble {
  readonly server: WebSocketServer;
  private readonly joined: { socket: WebSocket; topic: string; ids: number[] }[] = [];

  constructor() {
    this.server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/realtime/v1/websocket' });
    this.server.on('connection', (socket) => {
      socket.on('message', (raw) => {
        const [joinRef, ref, topic, event, payload] = JSON.parse(raw.toString()) as Frame;
        if (event === 'phx_join') {
          const bindings = (payload?.config?.postgres_changes ?? []).map((binding: object, index: number) => ({
            ...binding,
            id: index + 1,
          }));
          this.joined.push({ socket, topic, ids: bindings.map((binding: { id: number }) => binding.id) });
          socket.send(JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'ok', response: { postgres_changes: bindings } }]));
        } else if (ref !== null) {
          socket.send(JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'ok', response: {} }]));
        }
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get channels(): number {
    return this.joined.length;
  }

  /** Pushes an INSERT of `record` into `table` to every joined channel, as Realtime's postgres_changes. */
  insert(table: string, record: Record<string, string>): void {
    for (const { socket, topic, ids } of this.joined) {
      const data = {
        type: 'INSERT',
        schema: 'public',
        table,
        commit_timestamp: new Date().toISOString(),
        columns: Object.keys(record).map((name) => ({ name, type: 'text' })),
        record,
        old_record: null,
        errors: null,
      };
      socket.send(JSON.stringify([null, null, topic, 'postgres_changes', { ids, data }]));
    }
  }

  close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('Supabase Realtime as an org change source (against a Phoenix-protocol double: no Supabase Realtime server can run here)', () => {
  let platform: TestPlatform;
  let double: PhoenixRealtimeDouble;
  let client: TestSocket | undefined;

  beforeAll(async () => {
    double = new PhoenixRealtimeDouble();
    await new Promise((resolve) => double.server.once('listening', resolve));
    platform = await startTestPlatform({ env: { REALTIME_RELAY_POLL_MS: '200' } });
  });
  afterAll(async () => {
    client?.close();
    await platform.close();
    await double.close();
  });

  it("relays Realtime's postgres_changes into the org's event stream, to a subscribed client", async () => {
    const created = await platform.request('POST', '/v1/admin/orgs', {
      body: {
        slug: 'on-supabase',
        name: 'On Supabase',
        realtime: { source: 'supabase', url: double.url, key: 'a-service-role-key-of-some-length' },
      },
    });
    expect(created.status).toBe(202);
    expect(created.body.instance.realtimeSource).toBe('supabase');
    expect(JSON.stringify(created.body)).not.toContain('a-service-role-key');
    await platform.waitForStatus('on-supabase', 'READY');
    await platform.createUserTable('on-supabase');

    client = await connectRealtime(platform.baseUrl, created.body.token);
    expect((await client.subscribe({ topic: 'table', id: 'entries' })).ok).toBe(true);
    const deadline = Date.now() + 20_000;
    while (double.channels === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(double.channels).toBe(1);

    double.insert('entries', { key: 'from-supabase', value: '1' });

    const [event] = await client.waitForEvents(1, (candidate) => candidate.type === 'row.inserted', 10_000);
    expect(event).toMatchObject({
      org: created.body.org.id,
      topic: 'table:entries',
      data: { schema: 'public', table: 'entries', record: { key: 'from-supabase', value: '1' }, old_record: null, lsn: null },
    });
  });

  it('refuses a realtime option that is not a Supabase project with its key', async () => {
    const bad = await platform.request('POST', '/v1/admin/orgs', {
      body: { slug: 'bad-realtime', name: 'x', realtime: { source: 'kafka', url: 'nope' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(
      expect.arrayContaining([
        expect.stringContaining('realtime.source'),
        expect.stringContaining('realtime.url'),
        expect.stringContaining('key'),
      ]),
    );
  });
});
