import type { TaskStatus } from '#libs/contracts';

/** The events a webhook can subscribe to. */
export const WEBHOOK_EVENTS = ['task.succeeded', 'task.failed', 'task.cancelled'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The webhook event of a finished task's status. */
export const TASK_FINISHED_EVENTS: Partial<Record<TaskStatus, WebhookEvent>> = {
  SUCCESS: 'task.succeeded',
  FAILED: 'task.failed',
  CANCELLED: 'task.cancelled',
};

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the webhook's secret>`. */
export const SIGNATURE_HEADER = 'x-platform-signature';
