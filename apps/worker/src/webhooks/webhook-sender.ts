import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { PlatformConfig } from '#libs/config';
import { QueueName, validatePayload, WebhookDeliveryJob } from '#libs/contracts';
import { GuardedHttpClient } from '#libs/outbound';
import { QueueFactory, RedisConnection, RedisKeys } from '#libs/redis';
import { CredentialCipher } from '#libs/registry';
import { SIGNATURE_HEADER, signWebhook, WebhookRepository } from '#libs/webhooks';

const MINUTE_SECONDS = 60;

/**
 * Sends webhook deliveries through the guarded outbound client: POSTs the JSON payload
 * signed with the webhook's secret, records every attempt's status code and timing (never
 * the answer's body), and lets BullMQ retry with backoff until a 2xx. Retries of one org
 * are bounded per minute (WEBHOOK_RETRIES_PER_ORG_PER_MINUTE): past the bound a retry
 * waits for the next minute instead of being sent, so one org's failing targets cannot
 * turn a few tasks into a flood of requests. Redeliveries asked for through the API are
 * bounded the same way.
 */
@Injectable()
export class WebhookSender implements OnApplicationBootstrap {
  private readonly retries: RateLimiterRedis;

  constructor(
    private readonly queues: QueueFactory,
    private readonly webhooks: WebhookRepository,
    private readonly cipher: CredentialCipher,
    private readonly config: PlatformConfig,
    private readonly outbound: GuardedHttpClient,
    redis: RedisConnection,
    keys: RedisKeys,
  ) {
    this.retries = new RateLimiterRedis({
      storeClient: redis.client,
      keyPrefix: keys.rateLimit('webhook-retries'),
      points: config.WEBHOOK_RETRIES_PER_ORG_PER_MINUTE,
      duration: MINUTE_SECONDS,
    });
  }

  onApplicationBootstrap(): void {
    this.queues.worker<WebhookDeliveryJob>(QueueName.webhookDeliveries, (job, token) => this.process(job, token));
  }

  async process(job: Job<WebhookDeliveryJob>, token?: string): Promise<void> {
    let payload: WebhookDeliveryJob;
    try {
      payload = validatePayload(WebhookDeliveryJob, job.data);
    } catch (error) {
      throw new UnrecoverableError(`invalid job payload: ${(error as Error).message}`);
    }
    const delivery = await this.webhooks.forSending(payload.orgId, payload.deliveryId);
    if (!delivery || (delivery.status === 'DELIVERED' && !payload.redeliver)) return;
    // A redelivery someone asked for counts against the org's retries from its first attempt.
    if (job.attemptsMade > 0 || payload.redeliver) await this.takeRetry(job, payload.orgId, token);
    const { secret } = this.cipher.decrypt<{ secret: string }>(delivery.secretEncrypted);
    const body = JSON.stringify(delivery.payload);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    let responseCode: number | null = null;
    let durationMs: number | null = null;
    let error: string | null = null;
    try {
      const answer = await this.outbound.post(delivery.url, {
        headers: {
          'content-type': 'application/json',
          'x-platform-event': delivery.event,
          'x-platform-delivery': delivery.id,
          [SIGNATURE_HEADER]: signWebhook(secret, Math.floor(Date.now() / 1000), body),
        },
        body,
        timeoutMs: this.config.WEBHOOK_TIMEOUT_MS,
      });
      responseCode = answer.status;
      durationMs = answer.durationMs;
      if (answer.status < 200 || answer.status > 299) error = `answered ${answer.status}`;
    } catch (failure) {
      error = (failure as Error).message;
    }
    const status = error === null ? 'DELIVERED' : lastAttempt ? 'FAILED' : 'PENDING';
    await this.webhooks.recordAttempt(payload.orgId, delivery.id, { status, responseCode, durationMs, error });
    if (error !== null) throw new Error(error);
  }

  /** Takes one of the org's retries of this minute, or puts the job back until the minute turns (not counted as an attempt). */
  private async takeRetry(job: Job<WebhookDeliveryJob>, orgId: string, token: string | undefined): Promise<void> {
    try {
      await this.retries.consume(orgId);
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes) || token === undefined) throw refusal;
      await job.moveToDelayed(Date.now() + refusal.msBeforeNext, token);
      throw new DelayedError();
    }
  }
}
