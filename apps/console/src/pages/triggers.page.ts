import { api } from '../api.js';
import { badge, confirmAction, h, mount, table, ticker, when } from '../dom.js';

interface Trigger {
  id: string;
  name: string;
  table: string;
  events: string[];
  filter: Record<string, unknown>;
  task: { type: string; params: Record<string, unknown>; class: string };
  enabled: boolean;
  createdAt: string;
}
interface TriggerRun {
  taskId: string;
  eventType: string;
  createdAt: string;
}

const EVENTS = ['INSERT', 'UPDATE', 'DELETE'];

/**
 * Change triggers: create (table, events, filter, task), enable or disable, delete;
 * `#/triggers/<id>` shows its recent firings, each with a link to the task it made.
 */
export function triggersPage(id?: string): () => void {
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
  const actions = (trigger: Trigger) =>
    h(
      'span.row',
      {},
      h(
        'button.secondary.small',
        {
          type: 'button',
          dataset: { toggle: trigger.name },
          onclick: () => void act(() => api('PATCH', `/v1/triggers/${trigger.id}`, { enabled: !trigger.enabled })),
        },
        trigger.enabled ? 'Disable' : 'Enable',
      ),
      h(
        'button.danger.small',
        {
          type: 'button',
          onclick: async () => {
            if (!(await confirmAction(`Delete the trigger ${trigger.name}?`, 'Delete'))) return;
            await act(() => api('DELETE', `/v1/triggers/${trigger.id}`));
            if (id) location.hash = '#/triggers';
          },
        },
        'Delete',
      ),
    );
  const describe = (trigger: Trigger) =>
    `${trigger.events.join('/')} on ${trigger.table}${Object.keys(trigger.filter ?? {}).length ? ` where ${JSON.stringify(trigger.filter)}` : ''} → ${trigger.task.type}`;

  async function load() {
    const triggers = await api<Trigger[]>('GET', '/v1/triggers');
    if (id) {
      const trigger = triggers.find((candidate) => candidate.id === id);
      if (!trigger) return void body.replaceChildren(h('p', { dataset: { notFound: '' } }, 'No such trigger.'));
      const runs = await api<TriggerRun[]>('GET', `/v1/triggers/${id}/runs?limit=100`);
      body.replaceChildren(
        h(
          'div.panel',
          { dataset: { trigger: trigger.name } },
          h('h2', {}, trigger.name, ' ', badge(trigger.enabled ? 'ENABLED' : 'DISABLED')),
          h('p', {}, describe(trigger)),
          h('pre.json', {}, JSON.stringify(trigger.task, null, 2)),
          actions(trigger),
        ),
        h(
          'div.panel',
          {},
          h('h2', {}, 'Runs'),
          table(
            ['Change', 'When', 'Task'],
            h(
              'tbody',
              {},
              ...runs.map((run) =>
                h(
                  'tr',
                  { dataset: { run: run.taskId } },
                  h('td', {}, run.eventType),
                  h('td.muted', {}, when(run.createdAt)),
                  h('td.mono', {}, h('a', { href: `#/tasks/${run.taskId}` }, run.taskId)),
                ),
              ),
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
          ['Name', 'Fires on', 'State', ''],
          h(
            'tbody',
            {},
            ...triggers.map((trigger) =>
              h(
                'tr',
                { dataset: { trigger: trigger.name } },
                h('td', {}, h('a', { href: `#/triggers/${trigger.id}` }, trigger.name)),
                h('td.muted', {}, describe(trigger)),
                h('td', {}, badge(trigger.enabled ? 'ENABLED' : 'DISABLED')),
                h('td', {}, actions(trigger)),
              ),
            ),
          ),
        ),
      ),
    );
  }

  const name = h('input', { placeholder: 'name', name: 'trigger-name', size: 14 });
  const tableName = h('input', { placeholder: 'table', name: 'trigger-table', size: 12 });
  const events = EVENTS.map((event) => h('input', { type: 'checkbox', value: event, checked: event === 'INSERT', name: 'trigger-event' }));
  const filter = h('input', { placeholder: 'filter {"status":"released"}', name: 'trigger-filter', size: 20 });
  const type = h('select', { name: 'trigger-type' }, ...['shell', 'sleep', 'noop'].map((value) => h('option', { value }, value)));
  const params = h('input', { placeholder: 'params {}', name: 'trigger-params', size: 20 });
  const form = h(
    'form.row',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        void act(async () => {
          await api('POST', '/v1/triggers', {
            name: name.value,
            table: tableName.value,
            events: events.filter((box) => box.checked).map((box) => box.value),
            ...(filter.value.trim() ? { filter: JSON.parse(filter.value) } : {}),
            task: { type: type.value, params: params.value.trim() ? JSON.parse(params.value) : {} },
          });
          name.value = '';
        });
      },
    },
    name,
    tableName,
    ...events.map((box) => h('label', {}, box, ' ', box.value)),
    filter,
    type,
    params,
    h('button', { type: 'submit' }, 'Create trigger'),
  );
  mount(h('h1', {}, id ? h('a', { href: '#/triggers' }, 'Triggers') : 'Triggers'), h('div.panel', {}, id ? '' : form, message), body);
  void load().catch((failure: Error) => (message.textContent = failure.message));
  return ticker();
}
