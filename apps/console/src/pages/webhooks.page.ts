import { api } from '../api.js';
import { badge, confirmAction, duration, h, mount, table, ticker, time, when } from '../dom.js';

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

/**
 * Webhooks: register (URL, events, signing secret) and delete; `#/webhooks/<id>` shows its
 * deliveries with status, attempts, the answer's code and time, and why one failed.
 */
export function webhooksPage(id?: string): () => void {
  const message = h('span.error');
  const body = h('div');
  const act = async (work: () => Promise<unknown>) => {
    message.textContent = '';
    try {
      await work();
    } catch (failure) {
      message.textContent = (failure as Error).message;
    }
    await load();
  };

  async function load() {
    const webhooks = await api<Webhook[]>('GET', '/v1/webhooks');
    if (id) {
      const webhook = webhooks.find((candidate) => candidate.id === id);
      if (!webhook) return void body.replaceChildren(h('p', { dataset: { notFound: '' } }, 'No such webhook.'));
      const deliveries = await api<Delivery[]>('GET', `/v1/webhooks/${id}/deliveries?limit=100`);
      body.replaceChildren(
        h(
          'div.panel',
          {},
          h('h2.mono.wrap', {}, webhook.url),
          h('p.muted', {}, webhook.events.join(', '), ' · created ', time(webhook.createdAt)),
        ),
        h(
          'div.panel',
          {},
          h('h2', {}, 'Deliveries'),
          h(
            'div.row',
            {},
            h('button.secondary.small', { type: 'button', dataset: { refresh: '' }, onclick: () => void load() }, 'Refresh'),
          ),
          table(
            ['Status', 'Event', 'Attempts', 'Answer', 'Took', 'Last attempt', 'Task'],
            h(
              'tbody',
              {},
              ...deliveries.map((delivery) => {
                const taskId = (delivery.payload as { data?: { id?: string } } | null)?.data?.id;
                return h(
                  'tr',
                  { dataset: { delivery: delivery.id, status: delivery.status } },
                  h('td', {}, badge(delivery.status)),
                  h('td', {}, delivery.event),
                  h('td', {}, String(delivery.attempts)),
                  h(
                    'td',
                    {},
                    delivery.responseCode === null ? '—' : String(delivery.responseCode),
                    delivery.error ? h('div.error', {}, delivery.error) : '',
                  ),
                  h('td.muted', {}, delivery.durationMs === null ? '—' : duration(delivery.durationMs)),
                  h('td.muted', {}, when(delivery.lastAttemptAt)),
                  h('td.mono', {}, taskId ? h('a', { href: `#/tasks/${taskId}` }, taskId.slice(0, 8)) : ''),
                );
              }),
            ),
          ),
        ),
      );
      return;
    }
    body.replaceChildren(
      h(
        'div.panel',
        {},
        table(
          ['URL', 'Events', 'Created', ''],
          h(
            'tbody',
            {},
            ...webhooks.map((webhook) =>
              h(
                'tr',
                { dataset: { webhook: webhook.url } },
                h('td.mono.wrap', {}, h('a', { href: `#/webhooks/${webhook.id}` }, webhook.url)),
                h('td', {}, webhook.events.join(', ')),
                h('td.muted', {}, when(webhook.createdAt)),
                h(
                  'td',
                  {},
                  h(
                    'button.danger.small',
                    {
                      type: 'button',
                      onclick: async () => {
                        if (!(await confirmAction(`Delete the webhook to ${webhook.url}?`, 'Delete'))) return;
                        await act(() => api('DELETE', `/v1/webhooks/${webhook.id}`));
                      },
                    },
                    'Delete',
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  const url = h('input', { placeholder: 'https://ci.example.com/hook', name: 'webhook-url', size: 30 });
  const secret = h('input', { placeholder: 'signing secret (16+ characters)', name: 'webhook-secret', size: 24 });
  const events = EVENTS.map((event) => h('input', { type: 'checkbox', value: event, checked: true, name: 'webhook-event' }));
  const form = h(
    'form.row',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        void act(async () => {
          await api('POST', '/v1/webhooks', {
            url: url.value,
            secret: secret.value,
            events: events.filter((box) => box.checked).map((box) => box.value),
          });
          url.value = '';
          secret.value = '';
        });
      },
    },
    url,
    secret,
    ...events.map((box) => h('label', {}, box, ' ', box.value)),
    h('button', { type: 'submit' }, 'Add webhook'),
  );
  mount(h('h1', {}, id ? h('a', { href: '#/webhooks' }, 'Webhooks') : 'Webhooks'), h('div.panel', {}, id ? '' : form, message), body);
  void load().catch((failure: Error) => (message.textContent = failure.message));
  return ticker();
}
