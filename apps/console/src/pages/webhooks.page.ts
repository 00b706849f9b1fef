import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { confirmAction, duration, time } from '../dom.js';
import { Badge, field, html, mountView, Table, useRecords, When } from '../ui.js';

interface Webhook {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}
interface Delivery {
  id: string;
  event: string;
  payload: unknown;
  attempts: number;
  status: string;
  responseCode: number | null;
  durationMs: number | null;
  error: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
}

const EVENTS = ['task.succeeded', 'task.failed', 'task.cancelled'];
const loadWebhooks = () => api<Webhook[]>('GET', '/v1/webhooks');

/** Every webhook, with a form to register one (URL, events, signing secret). */
function Webhooks() {
  const { records: webhooks = [], error, run } = useRecords(loadWebhooks);
  const create = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const events = [...form.querySelectorAll<HTMLInputElement>('input[name=webhook-event]:checked')].map((box) => box.value);
    void run(async () => {
      await api('POST', '/v1/webhooks', { url: field(form, 'webhook-url'), secret: field(form, 'webhook-secret'), events });
      form.reset();
    });
  };
  const remove = async (webhook: Webhook) => {
    if (await confirmAction(`Delete the webhook to ${webhook.url}?`, 'Delete'))
      await run(() => api('DELETE', `/v1/webhooks/${webhook.id}`));
  };
  return html`<h1>Webhooks</h1>
    <div class="panel">
      <form class="row" onSubmit=${create}>
        <input placeholder="https://ci.example.com/hook" name="webhook-url" size="30" />
        <input placeholder="signing secret (16+ characters)" name="webhook-secret" size="24" />
        ${EVENTS.map((event) => html`<label><input type="checkbox" name="webhook-event" value=${event} checked /> ${event}</label>`)}
        <button type="submit">Add webhook</button>
      </form>
      <span class="error">${error}</span>
    </div>
    <div class="panel">
      <${Table} titles=${['URL', 'Events', 'Created', '']}>
        ${webhooks.map(
          (webhook) =>
            html`<tr data-webhook=${webhook.url} key=${webhook.id}>
              <td class="mono wrap"><a href=${`#/webhooks/${webhook.id}`}>${webhook.url}</a></td>
              <td>${webhook.events.join(', ')}</td>
              <td class="muted"><${When} at=${webhook.createdAt} /></td>
              <td><button class="danger small" type="button" onClick=${() => remove(webhook)}>Delete</button></td>
            </tr>`,
        )}
      <//>
    </div>`;
}

/** One webhook's deliveries: status, attempts, the answer's code and time, why one failed, and the task it was about. */
function WebhookDeliveries({ id }: { id: string }) {
  const load = async () => {
    const webhook = (await loadWebhooks()).find((candidate) => candidate.id === id);
    return { webhook, deliveries: webhook ? await api<Delivery[]>('GET', `/v1/webhooks/${id}/deliveries?limit=100`) : [] };
  };
  const { records, error, reload, run } = useRecords(load, [id]);
  const [queued, setQueued] = useState(new Set<string>());
  const webhook = records?.webhook;
  /** The sender records the new attempt on the delivery once it is sent; Refresh shows it. */
  const redeliver = (delivery: Delivery) =>
    run(async () => {
      await api('POST', `/v1/webhooks/${id}/deliveries/${delivery.id}/redeliver`);
      setQueued((current) => new Set(current).add(delivery.id));
    });
  return html`<h1><a href="#/webhooks">Webhooks</a></h1>
    <div class="panel">
      <span class="error">${error}</span>
      ${records && !webhook && html`<p data-not-found>No such webhook.</p>`}
      ${
        webhook &&
        html`<h2 class="mono wrap">${webhook.url}</h2>
          <p class="muted">${webhook.events.join(', ')} · created ${time(webhook.createdAt)}</p>`
      }
    </div>
    ${
      webhook &&
      html`<div class="panel">
        <h2>Deliveries</h2>
        <div class="row">
          <button
            class="secondary small"
            type="button"
            data-refresh
            onClick=${() => {
              setQueued(new Set());
              void reload();
            }}
          >
            Refresh
          </button>
        </div>
        <${Table} titles=${['Status', 'Event', 'Attempts', 'Answer', 'Took', 'Last attempt', 'Task', '']}>
          ${records.deliveries.map((delivery) => {
            const taskId = (delivery.payload as { data?: { id?: string } } | null)?.data?.id;
            return html`<tr data-delivery=${delivery.id} data-status=${delivery.status} key=${delivery.id}>
              <td><${Badge} status=${delivery.status} /></td>
              <td>${delivery.event}</td>
              <td data-attempts>${delivery.attempts}</td>
              <td>${delivery.responseCode ?? '—'}${delivery.error && html`<div class="error">${delivery.error}</div>`}</td>
              <td class="muted">${delivery.durationMs === null ? '—' : duration(delivery.durationMs)}</td>
              <td class="muted"><${When} at=${delivery.lastAttemptAt} /></td>
              <td class="mono">${taskId && html`<a href=${`#/tasks/${taskId}`}>${taskId.slice(0, 8)}</a>`}</td>
              <td>
                ${
                  queued.has(delivery.id)
                    ? html`<span class="muted" data-redelivery-queued>queued</span>`
                    : html`<button class="secondary small" type="button" data-redeliver onClick=${() => redeliver(delivery)}>
                        Redeliver
                      </button>`
                }
              </td>
            </tr>`;
          })}
        <//>
      </div>`
    }`;
}

/** Webhooks: register and delete; `#/webhooks/<id>` shows one webhook's deliveries. */
export const webhooksPage = (id?: string) => mountView(id ? html`<${WebhookDeliveries} id=${id} />` : html`<${Webhooks} />`);
