import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { PlatformConfig } from '#libs/config';
import { keySlot } from './key-slot.js';

/** How long a closing connection waits for Redis to close the socket before destroying it. */
export const REDIS_DISCONNECT_GRACE_MS = 200;

/**
 * On the shared command connection (never a blocking one): a connection that has commands
 * waiting and has received nothing for this long is taken for dead and dropped, so its
 * commands fail over to a fresh connection (on a cluster, to the slot's current primary)
 * instead of waiting forever. No command of the shared connection blocks, and its scripts
 * run in milliseconds, so only a connection that stopped answering reaches it.
 */
export const REDIS_REPLY_TIMEOUT_MS = 10_000;

/** How long a cluster client waits for one node's CLUSTER SLOTS before asking the next (see connectRedis). */
const CLUSTER_SLOTS_REFRESH_TIMEOUT_MS = 5000;

/**
 * The wire protocol spoken to Redis: RESP2. ioredis 6 speaks RESP3 unless told otherwise,
 * and its RESP3 reply decoding cost the client about a fifth more CPU per command (a hash,
 * a list and a nil read back, measured on this project's task hashes) for nothing the
 * platform uses: replies keep their RESP2 shapes either way, and every subscriber has a
 * connection of its own.
 */
const RESP_PROTOCOL = 2;

/** Which kind of Redis deployment the platform runs on. */
export type RedisMode = 'standalone' | 'cluster' | 'sentinel';

/** The Redis deployment the settings name: REDIS_CLUSTER_NODES, else REDIS_SENTINELS, else REDIS_URL. */
export function redisModeOf(config: Pick<PlatformConfig, 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS'>): RedisMode {
  if (config.REDIS_CLUSTER_NODES) return 'cluster';
  if (config.REDIS_SENTINELS) return 'sentinel';
  return 'standalone';
}

/** `host:port,host:port` as ioredis node addresses. */
export function parseHostPorts(list: string): { host: string; port: number }[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.lastIndexOf(':');
      return { host: entry.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(entry.slice(colon + 1)) };
    });
}

/** Username, password and TLS from REDIS_URL, for cluster nodes and sentinel-managed primaries. */
function credentialsOf(url: string | undefined): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  if (!url) return {};
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * A client of the configured Redis deployment: a standalone server (REDIS_URL), a Redis
 * Cluster (REDIS_CLUSTER_NODES) or a Sentinel-managed primary (REDIS_SENTINELS). A cluster
 * client is typed as `Redis`: it takes the same commands, routed by key slot.
 */
export function connectRedis(
  config: Pick<PlatformConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME'>,
  connectionOptions: RedisOptions,
): Redis {
  const options: RedisOptions = { protocol: RESP_PROTOCOL, ...connectionOptions };
  const mode = redisModeOf(config);
  if (mode === 'cluster') {
    const cluster = new Cluster(parseHostPorts(config.REDIS_CLUSTER_NODES), {
      redisOptions: { ...options, ...credentialsOf(config.REDIS_URL) },
      // A cluster client pipelines by its own option: in `redisOptions` it is ignored.
      enableAutoPipelining: options.enableAutoPipelining ?? false,
      // A failover takes the cluster a few node timeouts; commands wait it out instead of failing.
      retryDelayOnClusterDown: 200,
      retryDelayOnFailover: 200,
      retryDelayOnTryAgain: 200,
      maxRedirections: 32,
      // ioredis' default of 1 s is shorter than a busy process's event-loop stalls: every node
      // then seems not to answer CLUSTER SLOTS, and a client (re)connecting meanwhile (BullMQ
      // reconnects its blocking connections after a failover) is left with no node at all.
      slotsRefreshTimeout: CLUSTER_SLOTS_REFRESH_TIMEOUT_MS,
    });
    return endingWhenDisconnected(cluster) as unknown as Redis;
  }
  if (mode === 'sentinel') {
    return new Redis({
      ...options,
      ...credentialsOf(config.REDIS_URL),
      sentinels: parseHostPorts(config.REDIS_SENTINELS),
      name: config.REDIS_SENTINEL_NAME,
      // After a failover the old primary may come back as a replica and refuse writes: reconnect
      // to the primary the sentinels name now and send the refused command there (2), which
      // did not run. With `true` the command would fail instead, though nothing was wrong with it.
      reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    });
  }
  if (!config.REDIS_URL) throw new Error('REDIS_URL must be resolved before the redis module starts');
  return new Redis(config.REDIS_URL, options);
}

/**
 * ioredis' Cluster (6.0) never ends when it is disconnected while it waits to reconnect
 * (status `reconnecting`, after every node it knew failed): its node pool is empty then, so
 * nothing drains, and the close handler of its last connect has already run. Whoever waits
 * for its `end` waits forever: a BullMQ worker whose blocking connection was caught by a
 * failover never finishes closing. This ends such a disconnect the way ioredis ends one
 * from `wait`; copies made with `duplicate()` (BullMQ's blocking connections) get the same.
 */
function endingWhenDisconnected(cluster: Cluster): Cluster {
  const internals = cluster as unknown as { setStatus(status: string): void; handleCloseEvent(): void };
  const disconnect = cluster.disconnect.bind(cluster);
  cluster.disconnect = (reconnect = false) => {
    const waitingToReconnect = cluster.status === 'reconnecting';
    disconnect(reconnect);
    if (!waitingToReconnect || reconnect) return;
    if (cluster.nodes('all').length === 0) {
      internals.setStatus('close');
      internals.handleCloseEvent();
    } else {
      // Its nodes drain to `close`, which no handler is listening for any more.
      cluster.once('close', () => internals.handleCloseEvent());
    }
  };
  const duplicate = cluster.duplicate.bind(cluster);
  cluster.duplicate = (...args: Parameters<Cluster['duplicate']>) => endingWhenDisconnected(duplicate(...args));
  return cluster;
}

/** The shared Redis command connection; blocking consumers (BullMQ workers) open their own via `duplicate()`. */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis;
  readonly mode: RedisMode;
  private readonly options: RedisOptions;
  private readonly quitTimeoutMs: number;

  constructor(config: PlatformConfig) {
    this.mode = redisModeOf(config);
    this.quitTimeoutMs = config.CONNECT_TIMEOUT_MS;
    this.options = { connectTimeout: config.CONNECT_TIMEOUT_MS, disconnectTimeout: REDIS_DISCONNECT_GRACE_MS, maxRetriesPerRequest: null };
    // Commands issued in the same tick by concurrent requests share one write (and Redis one
    // read): under load the syscalls, not Redis, were the cost. Order on the connection is kept.
    this.client = connectRedis(config, { ...this.options, enableAutoPipelining: true, socketTimeout: REDIS_REPLY_TIMEOUT_MS });
    // Connection errors are retried by ioredis and surfaced by /health/ready; logging each retry is noise.
    this.client.on('error', () => undefined);
  }

  /** The client as ioredis' Cluster, when the platform runs on one. */
  get cluster(): Cluster | undefined {
    return this.mode === 'cluster' ? (this.client as unknown as Cluster) : undefined;
  }

  /** A new connection to the same Redis, for a consumer that blocks (BullMQ worker, stream reader). */
  duplicate(): Redis {
    // A blocked read receives nothing for as long as it blocks: no reply timeout here.
    const copy = this.cluster
      ? (this.cluster.duplicate([], { enableAutoPipelining: false, redisOptions: { socketTimeout: undefined } }) as unknown as Redis)
      : this.client.duplicate({ ...this.options, socketTimeout: undefined });
    copy.on('error', () => undefined);
    return copy;
  }

  /** One connection per primary holding keys (just the client off a cluster), for commands such as SCAN that see one node. */
  primaries(): Redis[] {
    return this.cluster ? this.cluster.nodes('master') : [this.client];
  }

  /**
   * On a cluster: a new connection of its own to the primary serving `key`'s slot, which
   * never reconnects (after a failover or a resharding the caller asks again), and the
   * shared connection to that primary (for CLIENT UNBLOCK of the first). Off a cluster:
   * a `duplicate()` and the shared client.
   */
  async nodeConnection(key: string): Promise<{ connection: Redis; control: Redis }> {
    const cluster = this.cluster;
    if (!cluster) return { connection: this.duplicate(), control: this.client };
    const slot = keySlot(key);
    if (!cluster.slots[slot]?.[0]) {
      await cluster.ping();
      if (!cluster.slots[slot]?.[0]) await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
    }
    const address = cluster.slots[slot]?.[0];
    const control = cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === address);
    if (!control) throw new Error(`no primary known for slot ${slot}`);
    const connection = control.duplicate({
      ...this.options,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      socketTimeout: undefined,
    });
    connection.on('error', () => undefined);
    return { connection, control };
  }

  /** Asks a cluster for its current slot map (after a node failed); a no-op elsewhere. */
  async refreshTopology(): Promise<void> {
    const cluster = this.cluster;
    if (cluster) await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
  }

  /**
   * The items split so that every group's keys share one hash slot, as a multi-key command
   * or a pipeline on a cluster needs; off a cluster, all items form one group.
   */
  slotGroups<T>(items: Iterable<T>, keyOf: (item: T) => string): T[][] {
    if (!this.cluster) {
      const all = [...items];
      return all.length ? [all] : [];
    }
    const groups = new Map<number, T[]>();
    for (const item of items) {
      const slot = keySlot(keyOf(item));
      const group = groups.get(slot);
      if (group) group.push(item);
      else groups.set(slot, [item]);
    }
    return [...groups.values()];
  }

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.client, this.quitTimeoutMs);
  }
}

/**
 * Quits politely when Redis answers, so queued replies arrive; otherwise (Redis down,
 * or no answer within `timeoutMs`) drops the connection instead of waiting forever.
 */
export async function closeRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') {
    const quit = client.quit().then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, timeoutMs, false).unref());
    if (await Promise.race([quit, timeout])) return;
  }
  client.disconnect();
}
