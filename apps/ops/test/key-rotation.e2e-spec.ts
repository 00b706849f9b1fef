import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { withPgClient } from '#libs/database';
import { CredentialCipher } from '#libs/registry';
import { spawnPlatformProcess, waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

const OLD_KEY = randomBytes(32).toString('base64');
const NEW_KEY = randomBytes(32).toString('base64');
const OLD_SECRET = randomBytes(32).toString('hex');
const NEW_SECRET = randomBytes(32).toString('hex');
const WEBHOOK_SECRET = 'a-webhook-secret-that-must-survive';
const ORG_SECRET = { value: 'db-password-that-must-survive' };

describe('key rotation without downtime: ENCRYPTION_KEY and JWT_SECRET (real Postgres, real API and ops processes)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let receiver: Server;
  let secretsTable: string;
  const received: { signature: string; body: string }[] = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ signature: String(request.headers['x-platform-signature']), body });
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    // Both keys in the form from before rotation existed: one value, no id.
    platform = await startTestPlatform({ env: { ENCRYPTION_KEY: OLD_KEY, JWT_SECRET: OLD_SECRET } });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  const restartWith = async (env: Record<string, string>) => {
    await platform.close({ keepData: true });
    platform = await startTestPlatform({ restartOf: platform, env });
  };
  const ops = async (args: string[]) => {
    const run = spawnPlatformProcess('ops', platform.env, args);
    const code = await run.waitForExit(60_000);
    return { code, output: run.output() };
  };
  /** Every sealed value the rotation must cover, as stored. */
  const sealedValues = async () => {
    const control = await withPgClient(
      platform.database.url,
      async (client) =>
        (
          await client.query<{ credentials_encrypted: string }>('SELECT credentials_encrypted FROM org_instances WHERE org_id = $1', [
            org.id,
          ])
        ).rows,
    );
    const webhooks = await platform.queryOrgDatabase<{ secret_encrypted: string }>(org.slug, 'SELECT secret_encrypted FROM webhooks');
    const secrets = await platform.queryOrgDatabase<{ value_encrypted: string }>(org.slug, `SELECT value_encrypted FROM ${secretsTable}`);
    return [
      ...control.map((row) => row.credentials_encrypted),
      ...webhooks.map((row) => row.secret_encrypted),
      ...secrets.map((row) => row.value_encrypted),
    ];
  };
  const runsATask = async () => {
    const created = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });
    expect(created.status).toBe(201);
    return waitFor('the task to succeed', async () => {
      const { body } = await platform.request('GET', `/v1/tasks/${created.body.id}`, { token: org.token });
      return body.status === 'SUCCESS' ? (body.id as string) : undefined;
    });
  };
  const deliveredSignedFor = (taskId: string) =>
    waitFor('a signed webhook delivery for the task', () => {
      const delivery = received.find((entry) => entry.body.includes(taskId));
      if (!delivery) return undefined;
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(delivery.signature)!;
      return createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${delivery.body}`).digest('hex') === v1 ? true : false;
    });

  it('rotates ENCRYPTION_KEY: old values stay readable, new writes use the first key, rotate-encryption-key re-encrypts org credentials, webhook secrets and secrets, and all still work without the old key', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const webhook = await platform.request('POST', '/v1/webhooks', {
      token: org.token,
      body: { url, events: ['task.succeeded'], secret: WEBHOOK_SECRET },
    });
    expect(webhook.status).toBe(201);
    // The org secrets table (#21's) where this build has it, else one of the agreed shape, so its values are rotated too.
    const [found] = await platform.queryOrgDatabase<{ name: string | null }>(
      org.slug,
      `SELECT n.nspname || '.secrets' AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = 'secrets' AND c.relkind = 'r' AND n.nspname IN ('platform', 'public') ORDER BY n.nspname = 'platform' DESC LIMIT 1`,
    );
    secretsTable = found?.name ?? 'public.secrets';
    if (!found) {
      await platform.queryOrgDatabase(
        org.slug,
        `CREATE TABLE public.secrets (name text PRIMARY KEY, value_encrypted text NOT NULL,
           created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`,
      );
      // Owned and granted as the org migrations set up their tables, so the platform's own connections may use it.
      await platform.queryOrgDatabase(
        org.slug,
        `DO $$ BEGIN
           EXECUTE format('ALTER TABLE public.secrets OWNER TO %I', (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()));
         END $$;
         GRANT ALL ON public.secrets TO service_role`,
      );
    }
    // Stored as a build before identified keys wrote it: `v1:` without a key id.
    const legacy = platform.api
      .get(CredentialCipher)
      .encrypt(ORG_SECRET)
      .replace(/^v2:default:/, 'v1:');
    await platform.queryOrgDatabase(org.slug, `INSERT INTO ${secretsTable} (name, value_encrypted) VALUES ('db', $1)`, [legacy]);
    expect(
      (await sealedValues()).map((sealed) => sealed.split(':')[0] + (sealed.startsWith('v2:') ? `:${sealed.split(':')[1]}` : '')),
    ).toEqual(['v2:default', 'v2:default', 'v1']);

    // Overlap: the new key first, the old one still configured.
    await restartWith({ ENCRYPTION_KEY: `k2:${NEW_KEY},default:${OLD_KEY}` });
    await deliveredSignedFor(await runsATask());
    const second = await platform.request('POST', '/v1/webhooks', {
      token: org.token,
      body: { url: `${url}/second`, events: ['task.failed'], secret: 'another-webhook-secret' },
    });
    expect(second.status).toBe(201);
    const afterWrite = await sealedValues();
    expect(afterWrite.filter((sealed) => sealed.startsWith('v2:k2:'))).toHaveLength(1);

    const rotated = await ops(['rotate-encryption-key']);
    expect(rotated).toEqual({ code: 0, output: expect.stringContaining('3 values re-encrypted, 0 unreadable, 0 org databases skipped') });
    expect(rotated.output).toContain('control plane\torg credentials\treencrypted 1\talready current 0\tunreadable 0');
    expect(rotated.output).toContain(`${org.slug}\twebhook secrets\treencrypted 1\talready current 1\tunreadable 0`);
    expect(rotated.output).toContain(`${org.slug}\tsecrets\treencrypted 1\talready current 0\tunreadable 0`);
    expect((await sealedValues()).every((sealed) => sealed.startsWith('v2:k2:'))).toBe(true);
    expect((await ops(['rotate-encryption-key'])).output).toContain('0 values re-encrypted, 0 unreadable, 0 org databases skipped');

    // The old key is gone: the org database, webhook signing and the secret all still work.
    await restartWith({ ENCRYPTION_KEY: `k2:${NEW_KEY}` });
    await deliveredSignedFor(await runsATask());
    const [stored] = await platform.queryOrgDatabase<{ value_encrypted: string }>(org.slug, `SELECT value_encrypted FROM ${secretsTable}`);
    expect(platform.api.get(CredentialCipher).decrypt(stored!.value_encrypted)).toEqual(ORG_SECRET);
  });

  it('rotates JWT_SECRET: new sessions are signed with the first secret and carry its kid, old sessions stay valid until the old secret is removed', async () => {
    const session = async () => {
      const { status, body } = await platform.request('POST', '/v1/auth/session', { token: org.token });
      expect(status).toBe(200);
      return body.access_token as string;
    };
    const works = async (jwt: string) => (await platform.request('GET', '/v1/tasks', { token: jwt })).status;
    const old = await session();
    expect(decodeProtectedHeader(old).kid).toBe('default');

    await restartWith({ JWT_SECRET: `s2:${NEW_SECRET},default:${OLD_SECRET}` });
    expect(await works(old)).toBe(200);
    const fresh = await session();
    expect(decodeProtectedHeader(fresh).kid).toBe('s2');
    await expect(jwtVerify(fresh, new TextEncoder().encode(NEW_SECRET))).resolves.toBeDefined();
    await expect(jwtVerify(fresh, new TextEncoder().encode(OLD_SECRET))).rejects.toThrow();
    expect(await works(fresh)).toBe(200);
    // What PostgREST is given during the overlap accepts both sessions, each by its kid.
    const printed = await ops(['jwks']);
    expect(printed.code).toBe(0);
    const { keys } = JSON.parse(printed.output.trim()) as { keys: JWK[] };
    expect(keys.map((key) => key.kid)).toEqual(['s2', 'default']);
    // jose's JWKS helpers take asymmetric keys only: pick the HMAC key by kid as PostgREST does.
    const byKid = (header: { kid?: string }) =>
      importJWK(
        keys.find((key) => key.kid === header.kid)!,
        'HS256',
      );
    await expect(jwtVerify(old, byKid)).resolves.toBeDefined();
    await expect(jwtVerify(fresh, byKid)).resolves.toBeDefined();

    await restartWith({ JWT_SECRET: `s2:${NEW_SECRET}` });
    expect(await works(old)).toBe(401);
    expect(await works(fresh)).toBe(200);
  });
});
