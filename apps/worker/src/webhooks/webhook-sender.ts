import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { PlatformConfig } from '#libs/config';
import { QueueName, validatePayload, WebhookDeliveryJob } from '#libs/contracts';
import { QueueFactory } from '#libs/redis';
import { CredentialCipher } from '#libs/registry';
import { SIGNATURE_HEADER, signWebhook, WebhookRepository } from '#libs/webhooks';

/** How much of a failed answer's body is kept with the delivery record. */
const ERROR_BODY_CHARS = 200;

/**
 * Sends webhook deliveries: POSTs the JSON payload signed with the webhook's secret,
 * records every attempt's answer, and lets BullMQ retry with backoff until a 2xx.
 */
@Injectable()
export class WebhookSender implements OnApplicationBootstrap {
  constructor(
    private readonly queues: QueueFactory,
    private readonly webhooks: WebhookRepository,
    private readonly cipher: CredentialCipher,
    private readonly config: PlatformConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.queues.worker<WebhookDeliveryJob>(QueueName.webhookDeliveries, (job) => this.process(job));
  }

  async process(job: Job<WebhookDeliveryJob>): Promise<void> {
    let payload: WebhookDeliveryJob;
    try {
      payload = validatePayload(WebhookDeliveryJob, job.data);
    } catch (error) {
      throw new UnrecoverableError(`invalid job payload: ${(error as Error).message}`);
    }
    const delivery = await this.webhooks.forSending(payload.orgId, payload.deliveryId);
    if (!delivery || delivery.status === 'DELIVERED') return;
    const { secret } = this.cipher.decrypt<{ secret: string }>(delivery.secretEncrypted);
    const body = JSON.stringify(delivery.payload);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    let responseCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-platform-event': delivery.event,
          'x-platform-delivery': delivery.id,
          [SIGNATURE_HEADER]: signWebhook(secret, Math.floor(Date.now() / 1000), body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.WEBHOOK_TIMEOUT_MS),
      });
      responseCode = response.status;
      if (!response.ok) error = `answered ${response.status}: ${(await response.text()).slice(0, ERROR_BODY_CHARS)}`;
    } catch (failure) {
      error = (failure as Error).message;
    }
    const status = error === null ? 'DELIVERED' : lastAttempt ? 'FAILED' : 'PENDING';
    await this.webhooks.recordAttempt(payload.orgId, delivery.id, { status, responseCode, error });
    if (error !== null) throw new Error(error);
  }
}
