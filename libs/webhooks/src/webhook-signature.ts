import { createHmac } from 'node:crypto';

/** The signature header's value for `body` sent at `unixSeconds`: receivers recompute it to trust the delivery. */
export function signWebhook(secret: string, unixSeconds: number, body: string): string {
  const digest = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${digest}`;
}
