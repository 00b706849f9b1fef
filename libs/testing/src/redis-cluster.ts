import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { waitUntil } from '#libs/runtime';
import { unlinkMatching, type TestRedis } from './test-redis.js';

/** How long a cluster (or a sentinel group) may take to form before the test gives up. */
const FORM_TIMEOUT_MS = 30_000;
/**
 * Node timeout of the test cluster and down-after of the test sentinels: how long a dead
 * primary goes unnoticed. Short, so failover tests take seconds, not the production default.
 */
export const TEST_FAILOVER_TIMEOUT_MS = 2000;

/** One redis-server the harness started. */
export interface TestRedisNode {
  port: number;
  process: ChildProcess;
}

/** A running local Redis deployment for tests; `stop()` ends every process and removes its folder. */
interface TestRedisDeployment {
  /** Settings that point the platform at it (REDIS_CLUSTER_NODES, or REDIS_SENTINELS and REDIS_SENTINEL_NAME). */
  env: Record<string, string>;
  /** Kills one server with SIGKILL, as a crash would, and waits until it is gone. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface TestRedisCluster extends TestRedisDeployment {
  /** Every node, primaries and replicas. */
  nodes: TestRedisNode[];
  /** A cluster client (for checks from the test itself); the caller closes it. */
  connect(): Redis;
  /** The port of the primary serving `key` now. */
  primaryOf(key: string): Promise<number>;
  /** A key prefix of its own on this cluster for one test file, as `createTestRedis` gives on the standalone Redis. */
  testRedis(): TestRedis;
}

export interface TestRedisSentinels extends TestRedisDeployment {
  primary: TestRedisNode;
  replica: TestRedisNode;
  sentinels: TestRedisNode[];
  /** The port of the server the sentinels name as primary now. */
  currentPrimary(): Promise<number>;
  testRedis(): TestRedis;
}

function startServer(args: string[], dir: string): ChildProcess {
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

async function answers(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Redis Cluster's bus listens this far above each node's port (redis-cli --cluster create assumes it). */
const CLUSTER_BUS_OFFSET = 10_000;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Ports are taken below the kernel's ephemeral range (32768-60999), bus ports included, so
 * an outgoing connection cannot take one between the check and the server binding it.
 */
const PORT_RANGE = { from: 10_000, to: 32_767 - CLUSTER_BUS_OFFSET };
const taken = new Set<number>();

/** A free port outside the ephemeral range (with its cluster bus port, port + 10000, free too when `bus`). */
async function freeServerPort(bus: boolean): Promise<number> {
  for (;;) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (taken.has(port)) continue;
    if (!(await portIsFree(port)) || (bus && !(await portIsFree(port + CLUSTER_BUS_OFFSET)))) continue;
    taken.add(port);
    return port;
  }
}

/** Runs redis-cli; fails (and stops it) if it has not finished within FORM_TIMEOUT_MS. */
function runCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), FORM_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`redis-cli ${args.join(' ')} exited ${code ?? 'on timeout'}: ${stderr}`));
    });
  });
}

async function killNode(node: TestRedisNode): Promise<void> {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return;
  const exited = new Promise((resolve) => node.process.once('exit', resolve));
  node.process.kill('SIGKILL');
  await exited;
}

/** Deletes every key under `prefix` on each of `clients` (each a single server). */
async function deleteMatching(clients: Redis[], pattern: string): Promise<void> {
  for (const client of clients) await unlinkMatching(client, pattern, true);
}

/**
 * Starts a real Redis Cluster on free ports in a temporary folder: `primaries` primaries
 * with one replica each (`redis-cli --cluster create --cluster-replicas 1`), and waits
 * until every node says `cluster_state:ok`.
 */
export async function startTestRedisCluster(primaries = 3): Promise<TestRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'platform-redis-cluster-'));
  const nodes: TestRedisNode[] = [];
  const stop = async () => {
    await Promise.all(nodes.map(killNode));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries * 2; i++) {
      const port = await freeServerPort(true);
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(TEST_FAILOVER_TIMEOUT_MS),
        '--appendonly', 'no', '--save', '', '--dbfilename', `dump-${port}.rdb`, '--protected-mode', 'no',
        '--repl-diskless-sync-delay', '0',
      ]; // prettier-ignore
      nodes.push({ port, process: startServer(args, dir) });
    }
    for (const node of nodes) await waitUntil(() => answers(node.port), FORM_TIMEOUT_MS, `redis-server on ${node.port}`);
    await runCli([
      '--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas', '1', '--cluster-yes',
    ]); // prettier-ignore
    await waitUntil(
      async () => (await Promise.all(nodes.map((node) => clusterStateOk(node.port)))).every(Boolean),
      FORM_TIMEOUT_MS,
      'the Redis Cluster to report cluster_state:ok on every node',
    );
    // A replica that has not finished its first sync refuses to take over (its data is
    // "too old"): a primary killed before then leaves its slots down for good.
    await waitUntil(
      async () => (await Promise.all(nodes.map((node) => replicaSynced(node.port)))).every(Boolean),
      FORM_TIMEOUT_MS,
      'every replica of the Redis Cluster to finish its first sync',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const env = { REDIS_CLUSTER_NODES: nodes.map((node) => `127.0.0.1:${node.port}`).join(',') };
  const connect = () => {
    const client = new Cluster(
      nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
      { redisOptions: { maxRetriesPerRequest: null }, retryDelayOnClusterDown: 200, retryDelayOnFailover: 200 },
    );
    client.on('error', () => undefined);
    return client as unknown as Redis;
  };
  return {
    nodes,
    env,
    connect,
    async primaryOf(key) {
      const client = connect();
      try {
        const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
        const shards = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
        const shard = shards.find(([from, to]) => slot >= from && slot <= to);
        if (!shard) throw new Error(`no node serves slot ${slot}`);
        return Number(shard[2][1]);
      } finally {
        client.disconnect();
      }
    },
    async kill(port) {
      const node = nodes.find((candidate) => candidate.port === port);
      if (node) await killNode(node);
    },
    stop,
    testRedis() {
      const prefix = `test-${randomBytes(6).toString('hex')}`;
      const clean = async (pattern: string) => {
        const client = connect() as unknown as Cluster;
        try {
          await client.ping();
          await deleteMatching(client.nodes('master'), `${prefix}:${pattern}`);
        } finally {
          client.disconnect();
        }
      };
      return { url: '', env, prefix, connect, cleanup: () => clean('*'), cleanupMatching: clean };
    },
  };
}

/** True for a primary, and for a replica whose link to its primary is up (its first sync done). */
async function replicaSynced(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('replication');
    return info.includes('role:master') || info.includes('master_link_status:up');
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function clusterStateOk(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = (await client.call('CLUSTER', 'INFO')) as string;
    return info.includes('cluster_state:ok');
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** The sentinels' name for the test primary. */
const TEST_SENTINEL_NAME = 'platform-test';

/**
 * Starts a Sentinel-managed Redis on free ports: a primary, one replica of it and three
 * sentinels (`redis-server --sentinel`, quorum 2), and waits until every sentinel knows
 * the replica and the other sentinels.
 */
export async function startTestRedisSentinels(): Promise<TestRedisSentinels> {
  const dir = await mkdtemp(join(tmpdir(), 'platform-redis-sentinel-'));
  const servers: TestRedisNode[] = [];
  const stop = async () => {
    await Promise.all(servers.map(killNode));
    await rm(dir, { recursive: true, force: true });
  };
  const common = ['--bind', '127.0.0.1', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--repl-diskless-sync-delay', '0'];
  try {
    const primaryPort = await freeServerPort(false);
    const primary = { port: primaryPort, process: startServer(['--port', String(primaryPort), ...common], dir) };
    servers.push(primary);
    const replicaPort = await freeServerPort(false);
    const replica = {
      port: replicaPort,
      process: startServer(['--port', String(replicaPort), ...common, '--replicaof', '127.0.0.1', String(primaryPort)], dir),
    };
    servers.push(replica);
    for (const node of [primary, replica]) await waitUntil(() => answers(node.port), FORM_TIMEOUT_MS, `redis-server on ${node.port}`);
    await waitUntil(() => replicaSynced(replica.port), FORM_TIMEOUT_MS, 'the replica to finish its first sync');
    const sentinels: TestRedisNode[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freeServerPort(false);
      const file = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `sentinel monitor ${TEST_SENTINEL_NAME} 127.0.0.1 ${primaryPort} 2`,
          `sentinel down-after-milliseconds ${TEST_SENTINEL_NAME} ${TEST_FAILOVER_TIMEOUT_MS}`,
          `sentinel failover-timeout ${TEST_SENTINEL_NAME} ${TEST_FAILOVER_TIMEOUT_MS * 5}`,
          '',
        ].join('\n'),
      );
      const sentinel = { port, process: startServer([file, '--sentinel'], dir) };
      servers.push(sentinel);
      sentinels.push(sentinel);
    }
    for (const sentinel of sentinels) {
      await waitUntil(
        async () => {
          const client = new Redis({ port: sentinel.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
          client.on('error', () => undefined);
          try {
            await client.connect();
            const info = (await client.call('SENTINEL', 'MASTER', TEST_SENTINEL_NAME)) as string[];
            const field = (name: string) => Number(info[info.indexOf(name) + 1]);
            return field('num-slaves') >= 1 && field('num-other-sentinels') >= 2;
          } catch {
            return false;
          } finally {
            client.disconnect();
          }
        },
        FORM_TIMEOUT_MS,
        `sentinel on ${sentinel.port} to see the replica and the other sentinels`,
      );
    }
    const env = {
      REDIS_SENTINELS: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
      REDIS_SENTINEL_NAME: TEST_SENTINEL_NAME,
    };
    const connect = () => {
      const client = new Redis({
        sentinels: sentinels.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port })),
        name: TEST_SENTINEL_NAME,
        maxRetriesPerRequest: null,
      });
      client.on('error', () => undefined);
      return client;
    };
    return {
      primary,
      replica,
      sentinels,
      env,
      async currentPrimary() {
        const client = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1' });
        client.on('error', () => undefined);
        try {
          const [, port] = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', TEST_SENTINEL_NAME)) as [string, string];
          return Number(port);
        } finally {
          client.disconnect();
        }
      },
      async kill(port) {
        const node = servers.find((candidate) => candidate.port === port);
        if (node) await killNode(node);
      },
      stop,
      testRedis() {
        const prefix = `test-${randomBytes(6).toString('hex')}`;
        const clean = async (pattern: string) => {
          const client = connect();
          try {
            await deleteMatching([client], `${prefix}:${pattern}`);
          } finally {
            client.disconnect();
          }
        };
        return { url: '', env, prefix, connect, cleanup: () => clean('*'), cleanupMatching: clean };
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
