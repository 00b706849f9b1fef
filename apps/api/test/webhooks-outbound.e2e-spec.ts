import type { Queue } from 'bullmq';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueueName } from '#libs/contracts';
import { QueueFactory } from '#libs/redis';
import { waitFor } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from './platform-harness.js';

const SECRET = 'webhook-secret-0123456789';
const PASSWORD = 'hunter2-the-admin-password';

describe('webhooks go out through the guarded client only', () => {
  describe('with no range allowed', () => {
    let platform: TestPlatform;
    let org: CreatedOrg;

    beforeAll(async () => {
      platform = await startTestPlatform();
      org = await platform.createOrg();
    });
    afterAll(async () => {
      await platform.close();
    });

    it.each([
      ['http://127.0.0.1:8080/hook', 'loopback'],
      ['http://localhost:8080/hook', 'loopback'],
      ['http://[::1]/hook', 'loopback'],
      ['http://0.0.0.0/hook', 'unspecified'],
      ['http://0x7f000001/hook', 'loopback'],
      ['http://[::ffff:127.0.0.1]/hook', 'ipv4Mapped'],
      ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
      ['http://10.0.0.8/hook', 'private'],
      ['http://192.168.1.20/hook', 'private'],
      ['http://[fd12:3456::1]/hook', 'uniqueLocal'],
    ])('refuses to register %s (%s) with 400 naming why', async (url, range) => {
      const answer = await platform.request('POST', '/v1/webhooks', {
        token: org.token,
        body: { url, events: ['task.failed'], secret: SECRET },
      });
      expect(answer.status).toBe(400);
      expect(answer.body.message).toEqual([expect.stringMatching(new RegExp(`^url: .* is a ${range} address`))]);
      expect((await platform.request('GET', '/v1/webhooks', { token: org.token })).body).toEqual([]);
    });
  });

  describe('with the receiver range allowed (OUTBOUND_ALLOW_CIDRS=127.0.0.1/32)', () => {
    let platform: TestPlatform;
    let org: CreatedOrg;
    let receiver: Server;
    let url: string;
    let deliveries: Queue;
    const received: string[] = [];

    beforeAll(async () => {
      receiver = createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          received.push(String(request.headers['x-platform-delivery']));
          response.writeHead(500, { 'content-type': 'text/plain' }).end(`database password: ${PASSWORD}`);
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      platform = await startTestPlatform({
        env: {
          OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32',
          WEBHOOK_MAX_ATTEMPTS: '8',
          WEBHOOK_RETRY_BACKOFF_MS: '10',
          WEBHOOK_RETRIES_PER_ORG_PER_MINUTE: '3',
        },
      });
      org = await platform.createOrg();
      deliveries = platform.api.get(QueueFactory).queue(QueueName.webhookDeliveries);
    });
    afterAll(async () => {
      await platform.close();
      await new Promise((resolve) => receiver.close(resolve));
    });

    it("records each delivery's status code and timing, never the reply body, and bounds the org's retries per minute", async () => {
      const hooks = await Promise.all(
        [1, 2].map(() =>
          platform.request('POST', '/v1/webhooks', { token: org.token, body: { url, events: ['task.succeeded'], secret: SECRET } }),
        ),
      );
      expect(hooks.map(({ status }) => status)).toEqual([201, 201]);
      await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'noop' } });

      // Two first attempts, then the org's 3 retries of this minute; the rest wait, delayed, for the next minute.
      await waitFor('5 POSTs', () => (received.length >= 5 ? true : undefined), 20_000);
      const waiting = await waitFor(
        'both deliveries to wait for the next minute',
        async () => {
          const jobs = await deliveries.getJobs(['delayed']);
          const attempts = jobs.reduce((sum, job) => sum + job.attemptsMade, 0);
          return jobs.length === 2 && attempts === 5 ? jobs : undefined;
        },
        20_000,
      );
      expect(waiting).toHaveLength(2);
      expect(received).toHaveLength(5);

      for (const hook of hooks) {
        const log = await platform.request('GET', `/v1/webhooks/${hook.body.id}/deliveries`, { token: org.token });
        expect(log.status).toBe(200);
        expect(JSON.stringify(log.body)).not.toContain(PASSWORD);
        expect(JSON.stringify(log.body)).not.toContain('password');
        expect(log.body).toEqual([
          expect.objectContaining({ status: 'PENDING', responseCode: 500, durationMs: expect.any(Number), error: 'answered 500' }),
        ]);
      }
      const stored = await platform.queryOrgDatabase(org.slug, 'SELECT error FROM webhook_deliveries');
      expect(stored.map(({ error }) => error)).toEqual(['answered 500', 'answered 500']);
    });
  });
});
