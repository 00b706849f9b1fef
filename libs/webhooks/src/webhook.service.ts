import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import { InvalidInputError, QueueName, type TaskView, type WebhookDeliveryJob, NotFoundError } from '#libs/contracts';
import { GuardedHttpClient, OutboundUrlError } from '#libs/outbound';
import { QueueFactory } from '#libs/redis';
import { CredentialCipher, type OrgClaims } from '#libs/registry';
import { TASK_FINISHED_EVENTS } from './webhook-events.js';
import { WebhookRepository, type Webhook, type WebhookDelivery } from './webhook.repository.js';

export class WebhookNotFoundError extends NotFoundError {
  override name = 'WebhookNotFoundError';
}

/** Outgoing webhooks: registered per org, told of finished tasks through their own retrying queue. */
@Injectable()
export class WebhookService {
  private readonly deliveries: Queue<WebhookDeliveryJob>;

  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly cipher: CredentialCipher,
    private readonly config: PlatformConfig,
    private readonly outbound: GuardedHttpClient,
    queues: QueueFactory,
  ) {
    this.deliveries = queues.queue<WebhookDeliveryJob>(QueueName.webhookDeliveries);
  }

  /** Refuses (400) a URL the guarded client would not call: an internal address, or a name resolving to one. Delivery checks again. */
  async create(claims: OrgClaims, input: { url: string; events: string[]; secret: string }): Promise<Webhook> {
    try {
      await this.outbound.check(input.url);
    } catch (error) {
      if (error instanceof OutboundUrlError) throw new InvalidInputError([`url: ${error.message}`]);
      throw error;
    }
    return this.webhooks.insert(
      claims,
      {
        id: randomUUID(),
        url: input.url,
        events: [...new Set(input.events)],
        secretEncrypted: this.cipher.encrypt({ secret: input.secret }),
      },
      { max: this.config.QUOTA_WEBHOOKS, setting: 'QUOTA_WEBHOOKS', what: 'webhooks' },
    );
  }

  list(claims: OrgClaims): Promise<Webhook[]> {
    return this.webhooks.list(claims);
  }

  async delete(claims: OrgClaims, id: string): Promise<void> {
    if (!(await this.webhooks.delete(claims, id))) throw new WebhookNotFoundError(`no webhook ${id}`);
  }

  async deliveryLog(claims: OrgClaims, id: string, limit: number): Promise<WebhookDelivery[]> {
    if (!(await this.webhooks.exists(claims, id))) throw new WebhookNotFoundError(`no webhook ${id}`);
    return this.webhooks.deliveries(claims, id, limit);
  }

  /**
   * Sends a recorded delivery again, through the same queue and sender as every delivery.
   * Queueing the job is the one side effect (the sender records the attempt on the delivery
   * as it records every attempt), so a crash leaves either nothing or a queued job. While a
   * redelivery of it is queued, asking again adds nothing.
   */
  async redeliver(claims: OrgClaims, webhookId: string, deliveryId: string): Promise<WebhookDelivery> {
    if (!(await this.webhooks.exists(claims, webhookId))) throw new WebhookNotFoundError(`no webhook ${webhookId}`);
    const delivery = await this.webhooks.delivery(claims, webhookId, deliveryId);
    if (!delivery) throw new WebhookNotFoundError(`no delivery ${deliveryId} of webhook ${webhookId}`);
    await this.deliveries.add('deliver', { orgId: claims.org_id, deliveryId, redeliver: true }, this.jobOptions(`redeliver-${deliveryId}`));
    return delivery;
  }

  /** Queues a delivery of each finished task's event to every webhook that wants it; never waits for them. */
  async tasksFinished(orgId: string, tasks: TaskView[]): Promise<void> {
    const at = new Date().toISOString();
    const ids = await this.webhooks.recordDeliveries(
      orgId,
      tasks.flatMap((task) => {
        const event = TASK_FINISHED_EVENTS[task.status];
        return event ? [{ event, subject: task.id, payload: (id: string) => ({ id, event, at, org: orgId, data: task }) }] : [];
      }),
    );
    if (ids.length === 0) return;
    await this.deliveries.addBulk(
      ids.map((deliveryId) => ({
        name: 'deliver',
        data: { orgId, deliveryId },
        opts: this.jobOptions(`delivery-${deliveryId}`),
      })),
    );
  }

  /** Retried with backoff; the job id keeps one job per delivery (and per redelivery) queued at a time. */
  private jobOptions(jobId: string) {
    return {
      jobId,
      attempts: this.config.WEBHOOK_MAX_ATTEMPTS,
      backoff: { type: 'exponential', delay: this.config.WEBHOOK_RETRY_BACKOFF_MS },
      removeOnComplete: true,
      removeOnFail: true,
    };
  }
}
