import { TASK_STATUSES, TERMINAL_TASK_STATUSES, type TaskStatus, type TaskView } from '#libs/contracts';
import { api } from '../api.js';
import { badge, duration, h, mount, table, ticker, when } from '../dom.js';
import { realtime } from '../realtime.js';

const PAGE = 50;
const TASK_TYPES = ['shell', 'sleep', 'noop'];

/** How long a task ran (or has been running), or a dash before it started. */
export function taskDuration(task: Pick<TaskView, 'startedAt' | 'finishedAt'>, now = Date.now()): string {
  if (!task.startedAt) return '—';
  return duration((task.finishedAt ? Date.parse(task.finishedAt) : now) - Date.parse(task.startedAt));
}

const newestFirst = (a: TaskView, b: TaskView) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

/**
 * The org's tasks, newest first, live: the list subscribes first and shows its snapshot,
 * then applies every change, so no row can stay behind. Filters by type and by any set of
 * statuses (kept in the URL), counts the listed tasks per status, loads older pages on demand.
 */
export function tasksPage(query: URLSearchParams): () => void {
  const selected = new Set(
    (query.get('status') ?? '').split(',').filter((status): status is TaskStatus => TASK_STATUSES.includes(status as TaskStatus)),
  );
  const type = h('input', {
    type: 'search',
    placeholder: 'type  ( / )',
    name: 'type',
    size: 14,
    value: query.get('type') ?? '',
    dataset: { search: '' },
  });
  const statusChips = TASK_STATUSES.map((status) =>
    h(
      `button.chip${selected.has(status) ? '.on' : ''}`,
      { type: 'button', dataset: { filterStatus: status } },
      status,
      ' ',
      h('span.count', {}, '0'),
    ),
  );
  const rows = h('tbody');
  const summary = h('span.muted', { dataset: { summary: '' } });
  const more = h('button.secondary', { hidden: true, type: 'button' }, 'Older tasks');
  const newType = h('select', { name: 'new-type' }, ...TASK_TYPES.map((value) => h('option', { value }, value)));
  const newParams = h('textarea', { rows: 2, name: 'new-params', placeholder: '{"command": "echo", "args": ["hello"]}' });
  const formError = h('span.error');

  const tasks = new Map<string, TaskView>();
  /** Next page per status source (one source, `undefined`, when no status is chosen); null once exhausted. */
  let cursors = new Map<TaskStatus | undefined, string | null>();
  /** Ids changed by an event since a page request went out: that page may be older than the event, so it must not overwrite them. */
  let touched = new Set<string>();
  let unsubscribe = () => {};
  let frame = 0;

  const matches = (task: TaskView) => (!selected.size || selected.has(task.status)) && (!type.value || task.type === type.value);

  const row = (task: TaskView) =>
    h(
      'tr',
      { dataset: { id: task.id, status: task.status } },
      h('td', {}, h('a.row-link', { href: `#/tasks/${task.id}` }, badge(task.status))),
      h('td', {}, h('a', { href: `#/tasks/${task.id}` }, task.type)),
      h('td.muted.hide-narrow', {}, task.class ?? ''),
      h('td.muted', {}, when(task.createdAt)),
      h('td.muted', { dataset: { duration: '' } }, taskDuration(task)),
      h('td.muted.hide-narrow', {}, String(task.attempt)),
      h('td.muted.mono.hide-narrow', {}, h('a', { href: `#/tasks/${task.id}` }, task.id)),
    );

  function render() {
    frame = 0;
    const listed = [...tasks.values()].filter(matches).sort(newestFirst);
    rows.replaceChildren(...listed.map(row));
    const counts = new Map<string, number>();
    for (const task of listed) counts.set(task.status, (counts.get(task.status) ?? 0) + 1);
    // Counts of every status among the loaded tasks of this type, so a chip shows what choosing it would add.
    const ofType = [...tasks.values()].filter((task) => !type.value || task.type === type.value);
    for (const chip of statusChips) {
      chip.querySelector('.count')!.textContent = String(ofType.filter((task) => task.status === chip.dataset.filterStatus).length);
    }
    summary.textContent = `${listed.length} tasks listed`;
    more.hidden = ![...cursors.values()].some(Boolean);
  }
  const schedule = () => (frame ||= requestAnimationFrame(render));

  /** Loads the next page of every status source; a task an event already updated keeps the event's state. */
  async function loadMore() {
    touched = new Set();
    const pages = await Promise.all(
      [...cursors].map(async ([status, cursor]) => {
        if (cursor === null) return [status, null, []] as const;
        const params = new URLSearchParams({
          limit: String(PAGE),
          ...(status ? { status } : {}),
          ...(type.value ? { type: type.value } : {}),
          ...(cursor ? { cursor } : {}),
        });
        const page = await api<{ items: TaskView[]; nextCursor: string | null }>('GET', `/v1/tasks?${params}`);
        return [status, page.nextCursor, page.items] as const;
      }),
    );
    for (const [status, next, items] of pages) {
      cursors.set(status, next);
      for (const task of items) if (!touched.has(task.id)) tasks.set(task.id, task);
    }
    schedule();
  }

  function listen() {
    unsubscribe();
    tasks.clear();
    // Statuses change, types never do: the server filters by type only, so a task leaving a chosen status is seen leaving.
    unsubscribe = realtime.subscribe(
      { topic: 'tasks', filter: type.value ? { type: type.value } : {} },
      (snapshot: { items: TaskView[]; nextCursor: string | null }) => {
        tasks.clear();
        if (selected.size === 0) {
          for (const task of snapshot.items) tasks.set(task.id, task);
          cursors = new Map([[undefined, snapshot.nextCursor]]);
          schedule();
        } else {
          // The snapshot is the newest of every status; the chosen ones are paged per status, from here on.
          cursors = new Map([...selected].map((status) => [status, '']));
          void loadMore();
        }
      },
      (event) => {
        if (event.type !== 'task.updated') return;
        const task = event.data as TaskView;
        touched.add(task.id);
        tasks.set(task.id, task);
        schedule();
      },
    );
  }

  function refilter() {
    const params = new URLSearchParams({
      ...(selected.size ? { status: [...selected].join(',') } : {}),
      ...(type.value ? { type: type.value } : {}),
    });
    // The filters live in the URL, so a filtered list can be linked and reopened; replaceState does not re-route.
    history.replaceState(null, '', `#/tasks${params.size ? `?${params}` : ''}`);
    listen();
  }

  for (const chip of statusChips) {
    chip.addEventListener('click', () => {
      const status = chip.dataset.filterStatus as TaskStatus;
      if (!selected.delete(status)) selected.add(status);
      chip.classList.toggle('on', selected.has(status));
      refilter();
    });
  }
  type.addEventListener('change', refilter);
  more.addEventListener('click', () => void loadMore());

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
      h('div.toolbar', {}, type, ...statusChips),
      table(['Status', 'Type', 'Class', 'Created', 'Duration', 'Attempt', 'Id'], rows, ['Class', 'Attempt', 'Id']),
      h('div.row.spaced', {}, more, summary),
    ),
  );
  listen();
  // Running durations and relative times move on their own.
  const stopTicker = ticker();
  const durations = setInterval(() => {
    for (const element of rows.querySelectorAll<HTMLElement>('tr')) {
      const task = tasks.get(element.dataset.id!);
      if (task?.startedAt && !TERMINAL_TASK_STATUSES.includes(task.status)) {
        element.querySelector('[data-duration]')!.textContent = taskDuration(task);
      }
    }
  }, 1000);
  return () => {
    unsubscribe();
    stopTicker();
    clearInterval(durations);
    cancelAnimationFrame(frame);
  };
}
