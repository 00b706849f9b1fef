import { io, type Socket } from 'socket.io-client';
import { serveBenchRequests } from './bench-children.js';

/**
 * Socket clients in a process of their own (a benchmark forks several): connect and
 * subscribe a share of the crowd, then time every event received against the moment it
 * stands for — `at` for task and bare events, the commit for row events, and for task log
 * chunks the epoch-ms stamps the task printed (`L<ms>` lines).
 */

/** Longest a socket may take to connect on a busy machine. */
const CONNECT_TIMEOUT_MS = 60_000;
const SUBSCRIBE_TIMEOUT_MS = 60_000;
const LOG_STAMP = /L(\d{13})/g;

interface ReceivedEvent {
  type: string;
  at: string;
  data: { status?: string; commitTimestamp?: string };
}

interface Collected {
  /** Latency in ms by what was timed: `event` (task and bare events), `wal` (rows), `log` (printed lines). */
  latencies: { event: number[]; wal: number[]; log: number[] };
  received: number;
  successes: number;
  first: number;
  last: number;
}

let sockets: Socket[] = [];
let collected: Collected = fresh();

function fresh(): Collected {
  return { latencies: { event: [], wal: [], log: [] }, received: 0, successes: 0, first: 0, last: 0 };
}

function onEvent(event: ReceivedEvent): void {
  const now = Date.now();
  collected.received++;
  collected.first ||= now;
  collected.last = now;
  if (event.type === 'task.log') {
    for (const [, stamp] of JSON.stringify(event.data).matchAll(LOG_STAMP)) collected.latencies.log.push(now - Number(stamp));
  } else if (event.type.startsWith('row.')) {
    collected.latencies.wal.push(now - Date.parse(event.data.commitTimestamp!));
  } else {
    collected.latencies.event.push(now - Date.parse(event.at));
    if (event.data.status === 'SUCCESS') collected.successes++;
  }
}

async function subscribe(socket: Socket, payload: unknown): Promise<void> {
  const answer = await socket.timeout(SUBSCRIBE_TIMEOUT_MS).emitWithAck('subscribe', payload);
  if (!answer.ok) throw new Error(`subscribe refused: ${JSON.stringify(answer)}`);
}

/** Connects `count` sockets, `batch` at a time, each making `subscriptions` in order. */
async function connect(request: { url: string; token: string; count: number; subscriptions: unknown[]; batch: number }) {
  const { url, token, count, subscriptions, batch: size } = request;
  for (let start = 0; start < count; start += size) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(size, count - start) }, async () => {
        const socket = io(url, {
          auth: { token },
          transports: ['websocket'],
          reconnection: false,
          forceNew: true,
          timeout: CONNECT_TIMEOUT_MS,
        });
        socket.on('event', onEvent);
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
        for (const payload of subscriptions) await subscribe(socket, payload);
        return socket;
      }),
    );
    sockets.push(...batch);
  }
  return { connected: sockets.length };
}

serveBenchRequests(async (message) => {
  switch (message.kind) {
    case 'connect':
      return connect(message as unknown as Parameters<typeof connect>[0]);
    case 'subscribe':
      for (const socket of sockets) await subscribe(socket, message.payload);
      return { subscribed: sockets.length };
    case 'reset':
      collected = fresh();
      return {};
    case 'counts':
      return {
        received: collected.received,
        successes: collected.successes,
        event: collected.latencies.event.length,
        wal: collected.latencies.wal.length,
        log: collected.latencies.log.length,
      };
    case 'collect': {
      const result = collected;
      collected = fresh();
      return result;
    }
    case 'close':
      for (const socket of sockets) socket.close();
      sockets = [];
      return {};
    default:
      throw new Error(`unknown request ${message.kind}`);
  }
});
