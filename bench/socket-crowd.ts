import { forkBenchChildren, type BenchChild } from './bench-children.js';

/** Sockets per client process. */
const SOCKETS_PER_CLIENT = 250;
/** Sockets connecting and subscribing at once, over all client processes. */
const CONNECTING = 200;
/** Longest a phase may wait for its deliveries before the run is abandoned. */
const PHASE_TIMEOUT_MS = 120_000;
const POLL_MS = 20;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Counts {
  received: number;
  successes: number;
  event: number;
  wal: number;
  log: number;
}
export interface Collected {
  latencies: { event: number[]; wal: number[]; log: number[] };
  received: number;
  first: number;
  last: number;
}

/** Sockets spread over client processes of their own. */
export class Crowd {
  private constructor(
    private readonly clients: BenchChild[],
    readonly sockets: number,
  ) {}

  static async connect(url: string, token: string, sockets: number, subscriptions: unknown[]): Promise<Crowd> {
    const processes = Math.max(1, Math.ceil(sockets / SOCKETS_PER_CLIENT));
    const clients = await forkBenchChildren(processes, 'socket-clients.process.js');
    const share = (index: number) => Math.floor(sockets / processes) + (index < sockets % processes ? 1 : 0);
    // At most CONNECTING sockets handshake at once over all processes, so a large crowd does not time itself out.
    const batch = Math.max(1, Math.floor(CONNECTING / processes));
    try {
      await Promise.all(
        clients.map((client, index) => client.request({ kind: 'connect', url, token, count: share(index), subscriptions, batch })),
      );
    } catch (error) {
      await Promise.all(clients.map((client) => client.stop()));
      throw error;
    }
    return new Crowd(clients, sockets);
  }

  async subscribe(payload: unknown): Promise<void> {
    await Promise.all(this.clients.map((client) => client.request({ kind: 'subscribe', payload })));
  }

  async reset(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.request({ kind: 'reset' })));
  }

  /** Waits until the summed counts satisfy `done`. */
  async waitFor(what: string, done: (counts: Counts) => boolean): Promise<void> {
    const deadline = Date.now() + PHASE_TIMEOUT_MS;
    for (;;) {
      const all = await Promise.all(this.clients.map((client) => client.request<Counts>({ kind: 'counts' })));
      const sum = all.reduce((a, b) => ({
        received: a.received + b.received,
        successes: a.successes + b.successes,
        event: a.event + b.event,
        wal: a.wal + b.wal,
        log: a.log + b.log,
      }));
      if (done(sum)) return;
      if (Date.now() > deadline) throw new Error(`realtime bench: timed out waiting for ${what} (${JSON.stringify(sum)})`);
      await delay(POLL_MS);
    }
  }

  async collect(): Promise<Collected> {
    const all = await Promise.all(this.clients.map((client) => client.request<Collected>({ kind: 'collect' })));
    const firsts = all.map((c) => c.first).filter((first) => first > 0);
    return {
      latencies: {
        event: all.flatMap((c) => c.latencies.event),
        wal: all.flatMap((c) => c.latencies.wal),
        log: all.flatMap((c) => c.latencies.log),
      },
      received: all.reduce((sum, c) => sum + c.received, 0),
      first: firsts.length ? Math.min(...firsts) : 0,
      last: Math.max(...all.map((c) => c.last)),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.stop()));
  }
}
