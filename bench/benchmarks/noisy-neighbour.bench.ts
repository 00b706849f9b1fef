import { io, type Socket } from 'socket.io-client';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatform, type BenchPlatform } from '../bench-platform.js';
import { httpJson } from '../http-client.js';
import { median, percentile, round, type Benchmark } from '../measure.js';

const ROUNDS = 3;
/** Tasks org B creates, one after another, per measurement. */
const PROBES = 150;
const WARMUP_PROBES = 30;
/** Org A's flood: task creators and list readers in flight at once, and sockets each sending subscribes without waiting. */
const FLOOD_TASK_CONCURRENCY = 16;
const FLOOD_LIST_CONCURRENCY = 8;
const FLOOD_SOCKETS = 25;
const FLOOD_SUBSCRIBES_PER_BURST = 300;
const FLOOD_ENVIRONMENTS = 500;
/** The caps the platform runs with here: the defaults, with the request rates an operator of a shared machine would set. */
const CAPS = {
  RATE_LIMIT_ORG_PER_SECOND: '200',
  RATE_LIMIT_TOKEN_PER_SECOND: '200',
  REALTIME_SOCKETS_PER_TOKEN: '20',
  REALTIME_SOCKETS_PER_ORG: '200',
  REALTIME_SUBSCRIPTIONS_PER_SOCKET: '100',
  REALTIME_SUBSCRIPTIONS_PER_ORG: '2000',
};

interface Org {
  token: string;
}

function connect(platform: BenchPlatform, token: string): Promise<Socket> {
  const socket = io(`${platform.baseUrl}/realtime`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/**
 * Org B creates tasks one after another, watching its `tasks` topic: for each, the time the
 * create took and the time until its `task.updated` event arrived (from the create's start).
 */
async function probe(platform: BenchPlatform, b: Org, count: number): Promise<{ create: number[]; delivery: number[] }> {
  const socket = await connect(platform, b.token);
  const arrivals = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  socket.on('event', (event: { type: string; data: { id: string } }) => {
    if (event.type !== 'task.updated' || arrivals.has(event.data.id)) return;
    arrivals.set(event.data.id, performance.now());
    waiting.get(event.data.id)?.();
  });
  const ack = (await socket.timeout(30_000).emitWithAck('subscribe', { topic: 'tasks' })) as { ok: boolean };
  if (!ack.ok) throw new Error(`org B could not subscribe: ${JSON.stringify(ack)}`);
  const create: number[] = [];
  const delivery: number[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const started = performance.now();
      const response = await httpJson(`${platform.baseUrl}/v1/tasks`, 'POST', { authorization: `Bearer ${b.token}` }, { type: 'noop' });
      create.push(performance.now() - started);
      if (response.status !== 201) throw new Error(`org B's task creation answered ${response.status}: ${response.text}`);
      const id = (JSON.parse(response.text) as { id: string }).id;
      if (!arrivals.has(id)) await new Promise<void>((resolve) => waiting.set(id, resolve));
      waiting.delete(id);
      delivery.push(arrivals.get(id)! - started);
    }
  } finally {
    socket.close();
  }
  return { create, delivery };
}

/** Org A floods until `stop` is set: task creation, big list calls, and subscribes sent in bursts without waiting for acks. */
function flood(platform: BenchPlatform, a: Org, stop: { done: boolean }): Promise<unknown> {
  const auth = { authorization: `Bearer ${a.token}` };
  const loop = (call: () => Promise<unknown>) =>
    (async () => {
      while (!stop.done) await call().catch(() => undefined);
    })();
  const creators = Array.from({ length: FLOOD_TASK_CONCURRENCY }, () =>
    loop(() => httpJson(`${platform.baseUrl}/v1/tasks`, 'POST', auth, { type: 'noop' })),
  );
  const readers = Array.from({ length: FLOOD_LIST_CONCURRENCY }, (_, index) =>
    loop(() => httpJson(`${platform.baseUrl}${index % 2 ? '/v1/tasks?limit=200' : '/v1/pools/flood/environments?limit=500'}`, 'GET', auth)),
  );
  const subscribers = Array.from({ length: FLOOD_SOCKETS }, () =>
    loop(async () => {
      // Sockets past REALTIME_SOCKETS_PER_TOKEN are refused at the handshake; the rest burst subscribes, then start over.
      const socket = await connect(platform, a.token);
      try {
        await Promise.all(
          Array.from({ length: FLOOD_SUBSCRIBES_PER_BURST }, () =>
            socket
              .timeout(30_000)
              .emitWithAck('subscribe', { topic: 'resource', id: 'pool:flood' })
              .catch(() => undefined),
          ),
        );
      } finally {
        socket.close();
      }
    }),
  );
  return Promise.all([...creators, ...readers, ...subscribers]);
}

/**
 * Noisy neighbour: the p99 of org B's task creation and of its event delivery while org A
 * floods the same platform (task creation, list calls, subscriptions), as a ratio to B
 * alone; rounds interleave alone and flooded. The goal is a ratio of at most 2.
 */
export const noisyNeighbourBenchmark: Benchmark = {
  name: 'noisy-neighbour',
  async run(environment: BenchEnvironment) {
    const platform = await startBenchPlatform(environment, CAPS);
    try {
      const [a, b] = [await platform.createOrg('noisy-a'), await platform.createOrg('quiet-b')];
      await platform.call('POST', '/v1/pools', { name: 'flood', kind: 'bench' }, a.token);
      for (let index = 0; index < FLOOD_ENVIRONMENTS; index++) {
        await platform.call(
          'POST',
          '/v1/pools/flood/environments',
          { name: `env-${index}`, attributes: { blob: 'x'.repeat(8_000) } },
          a.token,
        );
      }
      await probe(platform, b, WARMUP_PROBES);
      const alone = { create: [] as number[], delivery: [] as number[] };
      const noisy = { create: [] as number[], delivery: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        const quiet = await probe(platform, b, PROBES);
        alone.create.push(percentile(quiet.create, 0.99));
        alone.delivery.push(percentile(quiet.delivery, 0.99));
        const stop = { done: false };
        const flooding = flood(platform, a, stop);
        try {
          const loud = await probe(platform, b, PROBES);
          noisy.create.push(percentile(loud.create, 0.99));
          noisy.delivery.push(percentile(loud.delivery, 0.99));
        } finally {
          stop.done = true;
          await flooding;
        }
      }
      const figure = (name: string, flooded: number[], baseline: number[]) => ({
        name,
        value: round(median(flooded)),
        min: round(Math.min(...flooded)),
        max: round(Math.max(...flooded)),
        rounds: ROUNDS,
        unit: 'ms',
        samples: ROUNDS * PROBES,
        baseline: {
          name: `${name}.alone`,
          value: round(median(baseline)),
          min: round(Math.min(...baseline)),
          max: round(Math.max(...baseline)),
          unit: 'ms',
        },
        ratio: round(median(flooded) / Math.max(0.001, median(baseline))),
        goal: 'ratio <= 2',
        caps: CAPS,
      });
      return [
        figure('noisy_neighbour.b_task_create.p99', noisy.create, alone.create),
        figure('noisy_neighbour.b_event_delivery.p99', noisy.delivery, alone.delivery),
      ];
    } finally {
      await platform.stop();
    }
  },
};
