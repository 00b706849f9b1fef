import { api } from '../api.js';
import { badge, h, mount, time } from '../dom.js';
import { realtime } from '../realtime.js';

const STATUSES = ['', 'SCHEDULED', 'QUEUED', 'CLAIMED', 'PROCESSING', 'SUCCESS', 'FAILED', 'CANCELLED'];
const PAGE = 50;

/** The org's tasks, newest first: new ones appear and statuses change in place; older pages load on demand. */
export function tasksPage(): () => void {
  const status = h('select', { name: 'status' }, ...STATUSES.map((value) => h('option', { value }, value || 'any status')));
  const type = h('input', { placeholder: 'type', name: 'type', size: 12 });
  const rows = h('tbody');
  const more = h('button.secondary', { hidden: true }, 'Older tasks');
  const newType = h('select', { name: 'new-type' }, ...['shell', 'sleep', 'noop'].map((value) => h('option', { value }, value)));
  const newParams = h('textarea', { rows: 2, name: 'new-params', placeholder: '{"command": "echo", "args": ["hello"]}' });
  const formError = h('span.error');
  let cursor: string | null = null;
  let unsubscribe = () => {};

  const row = (task: any) =>
    h(
      'tr.clickable',
      { dataset: { id: task.id }, onclick: () => (location.hash = `#/tasks/${task.id}`) },
      h('td', {}, badge(task.status)),
      h('td', {}, task.type),
      h('td', {}, task.class ?? ''),
      h('td.muted', {}, time(task.createdAt)),
      h('td.muted', {}, task.id),
    );
  const filters = () => ({ ...(status.value ? { status: status.value } : {}), ...(type.value ? { type: type.value } : {}) });
  const matches = (task: any) => Object.entries(filters()).every(([field, value]) => task[field] === value);

  async function load(reset: boolean) {
    const query = new URLSearchParams({ ...filters(), limit: String(PAGE), ...(!reset && cursor ? { cursor } : {}) });
    const page = await api('GET', `/v1/tasks?${query}`);
    if (reset) rows.replaceChildren();
    rows.append(...page.items.map(row));
    cursor = page.nextCursor;
    more.hidden = !cursor;
  }

  function listen() {
    unsubscribe();
    unsubscribe = realtime.subscribe(
      { topic: 'tasks', filter: filters() },
      () => undefined,
      (event) => {
        if (event.type !== 'task.updated') return;
        const task = event.data;
        const existing = rows.querySelector<HTMLElement>(`tr[data-id="${task.id}"]`);
        if (existing) existing.replaceWith(row(task));
        else if (matches(task)) rows.prepend(row(task));
      },
    );
  }

  const refresh = () => void load(true).then(listen);
  status.addEventListener('change', refresh);
  type.addEventListener('change', refresh);
  more.addEventListener('click', () => void load(false));

  const create = h(
    'form.panel',
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        formError.textContent = '';
        try {
          const params = newParams.value.trim() ? JSON.parse(newParams.value) : {};
          const task = await api('POST', '/v1/tasks', { type: newType.value, params });
          location.hash = `#/tasks/${task.id}`;
        } catch (failure) {
          formError.textContent = (failure as Error).message;
        }
      },
    },
    h('h2', {}, 'Start a task'),
    h('div.row', {}, newType, h('button', { type: 'submit' }, 'Start'), formError),
    newParams,
  );

  mount(
    h('h1', {}, 'Tasks'),
    create,
    h(
      'div.panel',
      {},
      h('div.toolbar', {}, status, type),
      h('table', {}, h('thead', {}, h('tr', {}, ...['Status', 'Type', 'Class', 'Created', 'Id'].map((title) => h('th', {}, title)))), rows),
      more,
    ),
  );
  refresh();
  return () => unsubscribe();
}
