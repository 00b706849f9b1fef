import { EventType, Topic } from '#libs/contracts';
import { OrgEventStream, type NewEvent } from '#libs/realtime';
import { waitFor } from '#libs/testing';
import { connectRealtime, type TestSocket } from './realtime-clients.js';
import { startTestPlatform, type TestPlatform } from './platform-harness.js';

const PENDING_EVENTS_MAX = 50;
/** Events already in the stream when the client subscribes from before them: many pages of replay. */
const BACKLOG = 5000;
/** Events appended while that replay runs. */
const LIVE = 500;

function taskEvents(count: number, from: number): NewEvent[] {
  return Array.from({ length: count }, (_, index) => {
    const id = `00000000-0000-4000-8000-${String(from + index).padStart(12, '0')}`;
    return {
      type: EventType.taskUpdated,
      topic: Topic.task(id),
      at: new Date().toISOString(),
      data: { id, status: 'QUEUED', type: 'noop' },
    };
  });
}

/** A subscription whose replay falls behind the live events: the API holds back at most REALTIME_PENDING_EVENTS_MAX of them. */
describe('realtime replay overflow', () => {
  let platform: TestPlatform;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({
      env: {
        REALTIME_PENDING_EVENTS_MAX: String(PENDING_EVENTS_MAX),
        // The replay's own packets must not trip the slow-client bound first.
        REALTIME_SOCKET_BUFFER_MAX: '1000000',
        EVENT_STREAM_MAX_LENGTH: String(BACKLOG * 4),
      },
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await platform.close();
  });

  it('resyncs a subscription with replay_overflow once it holds back REALTIME_PENDING_EVENTS_MAX live events, never more', async () => {
    const org = await platform.createOrg();
    const stream = platform.api.get(OrgEventStream);
    const since = await stream.append(org.id, taskEvents(1, 0)[0]!);
    for (let start = 1; start <= BACKLOG; start += 1000) await stream.appendMany(org.id, taskEvents(1000, start));

    const socket = await connectRealtime(platform.baseUrl, org.token);
    sockets.push(socket);
    const answer = await socket.subscribe({ topic: 'tasks', since });
    expect(answer).toMatchObject({ ok: true });
    // While its replay pages through the backlog, the stream's reader delivers what it reads, and more comes in live.
    await stream.appendMany(org.id, taskEvents(LIVE, BACKLOG + 1));

    const [resync] = await waitFor('the resync', () => (socket.resyncs.length ? socket.resyncs : undefined));
    expect(resync).toEqual({
      reason: 'replay_overflow',
      subscriptions: [{ subscription: answer.subscription, lastId: expect.any(String) }],
    });
    expect(socket.resyncs).toHaveLength(1);

    // What the API held back for the subscription reached the bound and stopped there.
    const metrics = await fetch(`${platform.baseUrl}/metrics`).then((response) => response.text());
    expect(metrics).toMatch(new RegExp(`^platform_realtime_pending_events_peak ${PENDING_EVENTS_MAX}$`, 'm'));

    // The subscription is gone: the client starts over from the lastId it was given.
    expect(await socket.unsubscribe(answer.subscription)).toMatchObject({ ok: false, error: 'not_found' });
    const again = await socket.subscribe({ topic: 'tasks', since: resync.subscriptions[0].lastId });
    expect(again).toMatchObject({ ok: true });
  });
});
