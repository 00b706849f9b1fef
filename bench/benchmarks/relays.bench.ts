import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { fromProjectRoot, PlatformConfig } from '#libs/config';
import { withPgClient } from '#libs/database';
import { createLogger } from '#libs/logging';
import { findFreePort, startEmbeddedPostgres, type RunningPostgres } from '#libs/runtime';
import type { BenchEnvironment } from '../bench-environment.js';
import { startBenchPlatform, type BenchPlatform } from '../bench-platform.js';
import { median, percentile, round, type Benchmark, type BenchResult } from '../measure.js';

/** Relaying orgs in the small and the large setting. */
const FEW = 10;
const MANY = 200;
const ROUNDS = 3;
/** Rows inserted one by one, in the first org, per measurement. */
const ROWS = 40;
const ROW_GAP_MS = 25;
/** Window over which the API process's CPU is read with every relay idle. */
const IDLE_WINDOW_MS = 10_000;
/** Orgs created at once while the cluster is filled. */
const CREATING_AT_ONCE = 8;
const TABLE = 'bench_rows';
const PHASE_TIMEOUT_MS = 300_000;
/** Linux clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`relays bench: timed out waiting for ${what}`);
    await delay(100);
  }
}

/** CPU seconds (user + system) a process has used. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

async function statusKiB(pid: number, field: 'VmRSS'): Promise<number> {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** Proportional set size: a process's private memory plus its share of what it shares (Postgres' shared buffers). */
async function pssKiB(pid: number): Promise<number> {
  return Number(/Pss:\s+(\d+)/.exec(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
}

interface Sample {
  p99: number;
  latencies: number[];
  apiCpuPerSecond: number;
  apiRssKiB: number;
  walSenderPssKiB: number;
}

/**
 * Change relays at scale on one embedded cluster: WAL commit → client p99 with 200
 * relaying orgs beside the same with 10 (interleaved 10, 200, 10, 200 ... over 3 rounds,
 * switching orgs' publications between none and all), the CPU and memory one idle relay
 * costs (API process and its Postgres WAL sender), and how many relaying orgs the embedded
 * server holds with the settings `npm start` gives it.
 */
export const relaysBenchmark: Benchmark = {
  name: 'relays',
  async run(environment: BenchEnvironment): Promise<BenchResult[]> {
    const embeddedCapacity = await withPgClient(environment.postgresUrl, async (client) => {
      const { rows } = await client.query<{ slots: number; senders: number }>(
        `SELECT current_setting('max_replication_slots')::int AS slots, current_setting('max_wal_senders')::int AS senders`,
      );
      return Math.min(rows[0]!.slots, rows[0]!.senders) - new PlatformConfig().REALTIME_SLOT_RESERVE;
    });
    const scratch = await mkdtemp(join(tmpdir(), 'platform-bench-relays-'));
    await chmod(scratch, 0o755);
    let cluster: RunningPostgres | undefined;
    let platform: BenchPlatform | undefined;
    let api: ChildProcess | undefined;
    const sockets: Socket[] = [];
    try {
      // A cluster with room for MANY relays (the reserve kept free too).
      cluster = await startEmbeddedPostgres({
        dataDir: join(scratch, 'postgres'),
        port: 0,
        logger: createLogger('bench', 'warn'),
        settings: { max_replication_slots: String(MANY + 8), max_wal_senders: String(MANY + 8) },
      });
      const clusterUrl = cluster.url;
      platform = await startBenchPlatform(environment, {
        ORG_CLUSTER_URLS: `relays=${clusterUrl}`,
        REALTIME_RELAY: 'off',
        PROVISIONING_CONCURRENCY: '6',
      });
      const orgs: { slug: string; token: string; database: string }[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: CREATING_AT_ONCE }, async () => {
          while (next < MANY) {
            const index = next++;
            const slug = `relay-${String(index).padStart(3, '0')}`;
            const created = await platform!.createOrg(slug);
            orgs[index] = { slug, token: created.token, database: created.database };
          }
        }),
      );
      const orgUrl = (database: string) => Object.assign(new URL(clusterUrl), { pathname: `/${database}` }).toString();
      for (const org of orgs) {
        await withPgClient(orgUrl(org.database), async (client) => {
          await client.query(`CREATE TABLE public.${TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)`);
          await client.query(`GRANT SELECT ON public.${TABLE} TO authenticated`);
        });
      }
      const publish = (count: number) =>
        Promise.all(
          orgs.map((org, index) => platform!.call('PUT', `/v1/admin/orgs/${org.slug}/realtime`, { tables: index < count ? null : [] })),
        );
      const relaying = () =>
        withPgClient(clusterUrl, async (client) => {
          const { rows } = await client.query<{ slots: number; active: number }>(
            `SELECT count(*)::int AS slots, count(*) FILTER (WHERE active)::int AS active FROM pg_replication_slots`,
          );
          return rows[0]!;
        });

      const port = await findFreePort();
      const env = Object.fromEntries(
        Object.entries(platform.config)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => [key, String(value)]),
      );
      api = spawn(process.execPath, [fromProjectRoot('dist/apps/api/src/main.js')], {
        env: {
          PATH: process.env.PATH ?? '',
          ...env,
          PORT: String(port),
          REALTIME_RELAY: 'on',
          REALTIME_RELAY_POLL_MS: '500',
          LOG_LEVEL: 'warn',
        },
        stdio: 'ignore',
      });
      const url = `http://127.0.0.1:${port}`;
      await waitUntil('the API process', async () => (await fetch(`${url}/health/live`).catch(() => undefined))?.ok === true);

      const first = orgs[0]!;
      const socket = io(`${url}/realtime`, { auth: { token: first.token }, transports: ['websocket'], reconnection: true });
      sockets.push(socket);
      const latencies: number[] = [];
      socket.on('event', (event: { type: string; data: { commitTimestamp?: string } }) => {
        if (event.type === 'row.inserted') latencies.push(Date.now() - Date.parse(event.data.commitTimestamp!));
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const answer = await socket.timeout(30_000).emitWithAck('subscribe', { topic: 'table', id: TABLE });
      if (!answer.ok) throw new Error(`subscribe refused: ${JSON.stringify(answer)}`);

      let row = 0;
      const sample = async (count: number): Promise<Sample> => {
        await publish(count);
        await waitUntil(`${count} relaying orgs`, async () => {
          const { slots, active } = await relaying();
          return slots === count && active === count;
        });
        // Warm: the first row after a switch also pays for the relay having just started.
        const writer = new pg.Client({ connectionString: orgUrl(first.database) });
        await writer.connect();
        try {
          await writer.query(`INSERT INTO ${TABLE} (key, value) VALUES ($1, '1')`, [`warm-${row++}`]);
          await waitUntil('the warm-up row', async () => latencies.length > 0);
          latencies.splice(0);
          for (let i = 0; i < ROWS; i++) {
            await writer.query(`INSERT INTO ${TABLE} (key, value) VALUES ($1, '1')`, [`row-${row++}`]);
            await delay(ROW_GAP_MS);
          }
        } finally {
          await writer.end();
        }
        await waitUntil('row events', async () => latencies.length >= ROWS);
        const measured = latencies.splice(0);
        const cpuBefore = await cpuSeconds(api!.pid!);
        await delay(IDLE_WINDOW_MS);
        const apiCpuPerSecond = ((await cpuSeconds(api!.pid!)) - cpuBefore) / (IDLE_WINDOW_MS / 1000);
        const walSenders = await withPgClient(
          clusterUrl,
          async (client) => (await client.query<{ pid: number }>('SELECT pid FROM pg_stat_replication')).rows,
        );
        const pss = await Promise.all(walSenders.map(({ pid }) => pssKiB(pid).catch(() => 0)));
        return {
          p99: percentile(measured, 0.99),
          latencies: measured,
          apiCpuPerSecond,
          apiRssKiB: await statusKiB(api!.pid!, 'VmRSS'),
          walSenderPssKiB: pss.reduce((sum, value) => sum + value, 0) / Math.max(1, pss.length),
        };
      };

      const few: Sample[] = [];
      const many: Sample[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        few.push(await sample(FEW));
        many.push(await sample(MANY));
      }

      const ratioOf = (a: number, b: number) => round(a / Math.max(b, 1e-9));
      const p99Many = many.map((s) => s.p99);
      const p99Few = few.map((s) => s.p99);
      const cpuPerRelay = many.map((s, i) => ((s.apiCpuPerSecond - few[i]!.apiCpuPerSecond) * 1000) / (MANY - FEW));
      const rssPerRelay = many.map((s, i) => (s.apiRssKiB - few[i]!.apiRssKiB) / (MANY - FEW));
      const senderPss = many.map((s) => s.walSenderPssKiB);
      const spread = (values: number[]) => ({ min: round(Math.min(...values)), max: round(Math.max(...values)), rounds: ROUNDS });
      return [
        {
          name: `relays.wal_to_client.p99.${MANY}_orgs`,
          value: round(median(p99Many)),
          ...spread(p99Many),
          unit: 'ms',
          samples: many.reduce((sum, s) => sum + s.latencies.length, 0),
          relaying: MANY,
          baseline: { name: `relays.wal_to_client.p99.${FEW}_orgs`, value: round(median(p99Few)), unit: 'ms' },
          baselineSpread: spread(p99Few),
          ratio: ratioOf(median(p99Many), Math.max(1, median(p99Few))),
        },
        {
          name: 'relays.idle_relay.api_cpu',
          value: round(median(cpuPerRelay)),
          ...spread(cpuPerRelay),
          unit: 'ms CPU/s per relay',
          samples: ROUNDS * 2,
          window: `${IDLE_WINDOW_MS} ms, ${MANY} vs ${FEW} relaying orgs, no writes`,
        },
        {
          name: 'relays.idle_relay.api_memory',
          value: round(median(rssPerRelay)),
          ...spread(rssPerRelay),
          unit: 'KiB RSS per relay',
          samples: ROUNDS * 2,
        },
        {
          name: 'relays.idle_relay.postgres_wal_sender_memory',
          value: round(median(senderPss)),
          ...spread(senderPss),
          unit: 'KiB PSS per WAL sender',
          samples: ROUNDS * MANY,
        },
        {
          name: 'relays.embedded_cluster_capacity',
          value: embeddedCapacity,
          min: embeddedCapacity,
          max: embeddedCapacity,
          rounds: 1,
          unit: 'relaying orgs',
          samples: 1,
          settings: 'min(max_replication_slots, max_wal_senders) of the embedded server minus REALTIME_SLOT_RESERVE (default)',
        },
      ];
    } finally {
      for (const socket of sockets) socket.close();
      if (api && api.exitCode === null) {
        const exited = new Promise((resolve) => api!.once('exit', resolve));
        api.kill('SIGTERM');
        await Promise.race([exited, delay(15_000).then(() => api!.kill('SIGKILL'))]);
      }
      await platform?.stop();
      await cluster?.stop();
      await rm(scratch, { recursive: true, force: true });
    }
  },
};
