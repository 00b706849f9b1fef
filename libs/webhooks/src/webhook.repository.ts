import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { holdCountQuota, OrgDatabase, type CountQuota, type OrgClaims } from '#libs/registry';

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  event: string;
  payload: unknown;
  attempts: number;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  responseCode: number | null;
  /** How long the last attempt's answer took (null when none came). */
  durationMs: number | null;
  /** Why the last attempt failed: the status it answered, or the network failure; never the answer's body. */
  error: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
}

interface DeliveryRow extends pg.QueryResultRow {
  id: string;
  webhook_id: string;
  event: string;
  payload: unknown;
  attempts: number;
  status: WebhookDelivery['status'];
  response_code: number | null;
  duration_ms: number | null;
  error: string | null;
  created_at: Date;
  last_attempt_at: Date | null;
}

const toWebhook = (row: { id: string; url: string; events: string[]; created_at: Date }): Webhook => ({
  id: row.id,
  url: row.url,
  events: row.events,
  createdAt: row.created_at.toISOString(),
});

const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  webhookId: row.webhook_id,
  event: row.event,
  payload: row.payload,
  attempts: row.attempts,
  status: row.status,
  responseCode: row.response_code,
  durationMs: row.duration_ms,
  error: row.error,
  createdAt: row.created_at.toISOString(),
  lastAttemptAt: row.last_attempt_at?.toISOString() ?? null,
});

/** SQL of the org database's `webhooks` and `webhook_deliveries`; the secret never leaves sealed except to sign. */
@Injectable()
export class WebhookRepository {
  constructor(private readonly orgDatabase: OrgDatabase) {}

  /** Inserts the webhook unless the org already has `quota.max` of them. */
  async insert(
    claims: OrgClaims,
    webhook: { id: string; url: string; events: string[]; secretEncrypted: string },
    quota: Omit<CountQuota, 'table'>,
  ): Promise<Webhook> {
    const { rows } = await this.orgDatabase.asCaller(claims, async (client) => {
      await holdCountQuota(client, { ...quota, table: 'webhooks' });
      return client.query(
        'INSERT INTO webhooks (id, url, events, secret_encrypted) VALUES ($1, $2, $3, $4) RETURNING id, url, events, created_at',
        [webhook.id, webhook.url, webhook.events, webhook.secretEncrypted],
      );
    });
    return toWebhook(rows[0]);
  }

  async list(claims: OrgClaims): Promise<Webhook[]> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query('SELECT id, url, events, created_at FROM webhooks ORDER BY created_at'),
    );
    return rows.map(toWebhook);
  }

  async delete(claims: OrgClaims, id: string): Promise<boolean> {
    const { rowCount } = await this.orgDatabase.asCaller(claims, (client) => client.query('DELETE FROM webhooks WHERE id = $1', [id]));
    return rowCount === 1;
  }

  async exists(claims: OrgClaims, id: string): Promise<boolean> {
    const { rowCount } = await this.orgDatabase.asCaller(claims, (client) => client.query('SELECT 1 FROM webhooks WHERE id = $1', [id]));
    return rowCount === 1;
  }

  async deliveries(claims: OrgClaims, webhookId: string, limit: number): Promise<WebhookDelivery[]> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC LIMIT $2', [
        webhookId,
        limit,
      ]),
    );
    return rows.map(toDelivery);
  }

  /** One delivery of the webhook, read under the caller's claims (so another org's ids are not found). */
  async delivery(claims: OrgClaims, webhookId: string, deliveryId: string): Promise<WebhookDelivery | undefined> {
    const { rows } = await this.orgDatabase.asCaller(claims, (client) =>
      client.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2', [deliveryId, webhookId]),
    );
    return rows[0] && toDelivery(rows[0]);
  }

  /**
   * Records one delivery per webhook subscribed to each item's event; an item already
   * recorded for a webhook (same event and subject) keeps its delivery. Returns the
   * delivery ids. Reading the webhooks and inserting the deliveries are one round trip
   * each, and an org without a subscribed webhook (the common case, once per persisted
   * batch of tasks) costs only the first.
   */
  async recordDeliveries(
    orgId: string,
    items: { event: string; subject: string; payload: (deliveryId: string) => unknown }[],
  ): Promise<string[]> {
    if (items.length === 0) return [];
    const [read] = await this.orgDatabase.asServiceInOneTrip(orgId, () => 'SELECT id, events FROM webhooks');
    const hooks = read!.rows as { id: string; events: string[] }[];
    const rows = items.flatMap((item) =>
      hooks
        .filter((hook) => hook.events.includes(item.event))
        .map((hook) => {
          const id = randomUUID();
          return {
            id,
            webhook_id: hook.id,
            event: item.event,
            dedupe_key: `${hook.id}:${item.event}:${item.subject}`,
            payload: item.payload(id),
          };
        }),
    );
    if (rows.length === 0) return [];
    // A webhook deleted since the read fails the insert (its reference is gone): the caller's batch is tried again.
    const [recorded] = await this.orgDatabase.asServiceInOneTrip(
      orgId,
      (literal) =>
        `INSERT INTO webhook_deliveries (id, webhook_id, event, dedupe_key, payload)
         SELECT * FROM jsonb_to_recordset(${literal(JSON.stringify(rows))}::jsonb) AS d(id uuid, webhook_id uuid, event text, dedupe_key text, payload jsonb)
         ON CONFLICT (dedupe_key) DO UPDATE SET dedupe_key = EXCLUDED.dedupe_key RETURNING id`,
    );
    return (recorded!.rows as { id: string }[]).map((row) => row.id);
  }

  /** The delivery with its webhook's URL and sealed secret, for sending it. */
  async forSending(orgId: string, deliveryId: string): Promise<(WebhookDelivery & { url: string; secretEncrypted: string }) | undefined> {
    const { rows } = await this.orgDatabase.asService(orgId, (client) =>
      client.query<DeliveryRow & { url: string; secret_encrypted: string }>(
        'SELECT d.*, w.url, w.secret_encrypted FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1',
        [deliveryId],
      ),
    );
    const row = rows[0];
    return row && { ...toDelivery(row), url: row.url, secretEncrypted: row.secret_encrypted };
  }

  async recordAttempt(
    orgId: string,
    deliveryId: string,
    outcome: { status: WebhookDelivery['status']; responseCode: number | null; durationMs: number | null; error: string | null },
  ): Promise<void> {
    await this.orgDatabase.asService(orgId, (client) =>
      client.query(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, response_code = $3, duration_ms = $4, error = $5,
           last_attempt_at = now() WHERE id = $1`,
        [deliveryId, outcome.status, outcome.responseCode, outcome.durationMs, outcome.error],
      ),
    );
  }
}
