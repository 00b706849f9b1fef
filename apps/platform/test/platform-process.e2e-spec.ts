import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findFreePort, isAlive } from '#libs/runtime';
import { spawnPlatformProcess, type PlatformProcess } from '#libs/testing';

const NOWHERE = 'redis://127.0.0.1:1';

async function pidFrom(file: string): Promise<number> {
  return Number((await readFile(file, 'utf8')).split('\n')[0]);
}

describe('npm start: the platform process on embedded defaults', () => {
  let dataDir: string;
  let running: PlatformProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'platform-start-'));
    await chmod(dataDir, 0o755);
  });
  afterEach(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGINT');
      await running.waitForExit();
    }
    running = undefined;
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string>) {
    const port = await findFreePort();
    // REDIS_PROBE_URL points nowhere, as on a machine with no Redis running: the platform starts its own.
    running = spawnPlatformProcess('platform', { DATA_DIR: dataDir, PORT: String(port), REDIS_PROBE_URL: NOWHERE, ...env });
    const [, url] = await running.waitForOutput(/API listening on (http:\/\/\S+)"/, 60_000);
    return { process: running, url: url! };
  }

  it('becomes ready, prints its admin token once, stops cleanly on SIGINT and keeps its data across restarts', async () => {
    const postgresPort = await findFreePort();
    const first = await start({ EMBEDDED_POSTGRES_PORT: String(postgresPort) });
    expect((await fetch(`${first.url}/health/ready`)).status).toBe(200);
    const [token] = first.process.output().match(/plat_admin_[\w-]{43}/) ?? [];
    expect(token).toBeDefined();
    const postgresPid = await pidFrom(join(dataDir, 'postgres', 'postmaster.pid'));
    const redisPid = await pidFrom(join(dataDir, 'redis', 'redis.pid'));
    expect(isAlive(postgresPid) && isAlive(redisPid)).toBe(true);

    first.process.child.kill('SIGINT');
    expect(await first.process.waitForExit()).toBe(0);
    expect(isAlive(postgresPid)).toBe(false);
    expect(isAlive(redisPid)).toBe(false);

    const second = await start({ EMBEDDED_POSTGRES_PORT: String(postgresPort) });
    expect((await fetch(`${second.url}/health/ready`)).status).toBe(200);
    expect(second.process.output()).not.toContain('plat_admin_');
    const password = (await readFile(join(dataDir, 'postgres.credentials'), 'utf8')).trim();
    const client = new pg.Client({
      connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${postgresPort}/postgres`,
    });
    await client.connect();
    const { rows } = await client.query<{ token_sha256: string }>('SELECT token_sha256 FROM platform_admin_token');
    await client.end();
    expect(rows).toEqual([{ token_sha256: createHash('sha256').update(token!).digest('hex') }]);
  });

  it('exits non-zero within 15 s with one line naming an unreachable database', async () => {
    const started = Date.now();
    const failing = spawnPlatformProcess('platform', {
      DATA_DIR: dataDir,
      DATABASE_URL: 'postgres://nope@127.0.0.1:1/x',
      REDIS_PROBE_URL: NOWHERE,
    });

    const code = await failing.waitForExit(15_000);

    expect(code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    const lines = failing.output().trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^platform: cannot connect to the control-plane database at postgres:\/\/nope@127\.0\.0\.1:1\/x: .*ECONNREFUSED/,
      ),
    ]);
  });

  it('refuses an invalid PORT before connecting to anything', async () => {
    const failing = spawnPlatformProcess('platform', { DATA_DIR: dataDir, PORT: 'abc' });

    expect(await failing.waitForExit()).not.toBe(0);
    expect(failing.output().trim()).toBe('platform: configuration: PORT="abc" must be a whole number from 1 to 65535');
  });
});
