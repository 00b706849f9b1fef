import { TASK_STATUSES, TERMINAL_TASK_STATUSES, type TaskStats, type TaskStatus, type TaskView } from '#libs/contracts';
import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { duration } from '../dom.js';
import { realtime } from '../realtime.js';
import { Badge, field, html, mountView, Table, When } from '../ui.js';

const PAGE = 50;
const TASK_TYPES = ['shell', 'sleep', 'noop'];

/** How long a task ran (or has been running), or a dash before it started. */
export function taskDuration(task: Pick<TaskView, 'startedAt' | 'finishedAt'>, now = Date.now()): string {
  if (!task.startedAt) return '—';
  return duration((task.finishedAt ? Date.parse(task.finishedAt) : now) - Date.parse(task.startedAt));
}

const HOUR = 3_600_000;

/**
 * How many tasks are in a status: a live status counts the tasks loaded (the subscription's
 * snapshot holds the newest); a final one counts the last hour's, from `GET /v1/stats/tasks`
 * plus those finished since it was read. History is written a little after a task finishes,
 * so the tasks loaded that finished within the hour bound it from below.
 */
export function statusCount(status: TaskStatus, tasks: TaskView[], stats: TaskStats | undefined, now = Date.now()): number {
  const inStatus = tasks.filter((task) => task.status === status);
  if (!TERMINAL_TASK_STATUSES.includes(status)) return inStatus.length;
  const finishedAt = (task: TaskView) => (task.finishedAt ? Date.parse(task.finishedAt) : now);
  const loadedInHour = inStatus.filter((task) => finishedAt(task) > now - HOUR).length;
  if (!stats) return loadedInHour;
  const asOf = Date.parse(stats.to);
  return Math.max(loadedInHour, (stats.counts[status] ?? 0) + inStatus.filter((task) => finishedAt(task) > asOf).length);
}

const newestFirst = (a: TaskView, b: TaskView) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

function StartTask() {
  const [error, setError] = useState('');
  const start = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    setError('');
    try {
      const params = field(form, 'new-params').trim();
      const task = await api('POST', '/v1/tasks', { type: field(form, 'new-type'), params: params ? JSON.parse(params) : {} });
      location.hash = `#/tasks/${task.id}`;
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return html`<form class="panel" onSubmit=${start}>
    <h2>Start a task</h2>
    <div class="row">
      <select name="new-type">
        ${TASK_TYPES.map((type) => html`<option value=${type}>${type}</option>`)}
      </select>
      <button type="submit">Start</button>
      <span class="error">${error}</span>
    </div>
    <textarea rows="2" name="new-params" placeholder='{"command": "echo", "args": ["hello"]}'></textarea>
  </form>`;
}

/**
 * The org's tasks, newest first, live: the list subscribes first and shows its snapshot,
 * then applies every change, so no row can stay behind. Filters by type and by any set of
 * statuses (kept in the URL), counts tasks per status (final ones over the last hour, from the
 * stats route), loads older pages on demand.
 */
function Tasks({ query }: { query: URLSearchParams }) {
  const [selected, setSelected] = useState(
    () =>
      new Set(
        (query.get('status') ?? '').split(',').filter((status): status is TaskStatus => TASK_STATUSES.includes(status as TaskStatus)),
      ),
  );
  const [type, setType] = useState(query.get('type') ?? '');
  const [error, setError] = useState('');
  const [stats, setStats] = useState<TaskStats | undefined>(undefined);
  /** Tasks by id; changed in place by events, then one re-render per frame. */
  const tasks = useRef(new Map<string, TaskView>()).current;
  /** Next page per status source (one source, `undefined`, when no status is chosen); null once exhausted. */
  const cursors = useRef(new Map<TaskStatus | undefined, string | null>());
  /** Ids changed by an event since a page request went out: that page may be older than the event, so it must not overwrite them. */
  const touched = useRef(new Set<string>());
  const [, redraw] = useReducer((count: number) => count + 1, 0);
  const frame = useRef(0);
  const schedule = () => {
    frame.current ||= requestAnimationFrame(() => {
      frame.current = 0;
      redraw(undefined);
    });
  };

  /** Loads the next page of every status source; a task an event already updated keeps the event's state. */
  const loadMore = async () => {
    touched.current = new Set();
    try {
      const pages = await Promise.all(
        [...cursors.current].map(async ([status, cursor]) => {
          if (cursor === null) return [status, null, []] as const;
          const params = new URLSearchParams({
            limit: String(PAGE),
            ...(status ? { status } : {}),
            ...(type ? { type } : {}),
            ...(cursor ? { cursor } : {}),
          });
          const page = await api<{ items: TaskView[]; nextCursor: string | null }>('GET', `/v1/tasks?${params}`);
          return [status, page.nextCursor, page.items] as const;
        }),
      );
      for (const [status, next, items] of pages) {
        cursors.current.set(status, next);
        for (const task of items) if (!touched.current.has(task.id)) tasks.set(task.id, task);
      }
    } catch (failure) {
      setError((failure as Error).message);
    }
    schedule();
  };

  useEffect(() => {
    const params = new URLSearchParams({ ...(selected.size ? { status: [...selected].join(',') } : {}), ...(type ? { type } : {}) });
    // The filters live in the URL, so a filtered list can be linked and reopened; replaceState does not re-route.
    history.replaceState(null, '', `#/tasks${params.size ? `?${params}` : ''}`);
    tasks.clear();
    // Statuses change, types never do: the server filters by type only, so a task leaving a chosen status is seen leaving.
    const unsubscribe = realtime.subscribe(
      { topic: 'tasks', filter: type ? { type } : {} },
      (snapshot: { items: TaskView[]; nextCursor: string | null }) => {
        tasks.clear();
        // Read after the snapshot: a task finishing since is in the figures or arrives as an event.
        const statsQuery = new URLSearchParams({ window: '1h', ...(type ? { type } : {}) });
        void api<TaskStats>('GET', `/v1/stats/tasks?${statsQuery}`).then(setStats, (failure: Error) => setError(failure.message));
        if (selected.size === 0) {
          for (const task of snapshot.items) tasks.set(task.id, task);
          cursors.current = new Map([[undefined, snapshot.nextCursor]]);
          schedule();
        } else {
          // The snapshot is the newest of every status; the chosen ones are paged per status, from here on.
          cursors.current = new Map([...selected].map((status) => [status, '']));
          void loadMore();
        }
      },
      (event) => {
        if (event.type !== 'task.updated') return;
        touched.current.add(event.data.id);
        tasks.set(event.data.id, event.data);
        schedule();
      },
    );
    // Running durations move on their own.
    const ticking = setInterval(
      () => [...tasks.values()].some((task) => task.startedAt && !TERMINAL_TASK_STATUSES.includes(task.status)) && redraw(undefined),
      1000,
    );
    return () => {
      unsubscribe();
      clearInterval(ticking);
      cancelAnimationFrame(frame.current);
      frame.current = 0;
    };
  }, [selected, type]);

  const toggle = (status: TaskStatus) => {
    const next = new Set(selected);
    if (!next.delete(status)) next.add(status);
    setSelected(next);
  };
  const ofType = [...tasks.values()].filter((task) => !type || task.type === type);
  const listed = ofType.filter((task) => !selected.size || selected.has(task.status)).sort(newestFirst);
  const link = (task: TaskView, content: unknown) => html`<a href=${`#/tasks/${task.id}`}>${content}</a>`;

  return html`<h1>Tasks</h1>
    <${StartTask} />
    <div class="panel">
      <div class="toolbar">
        <input
          type="search"
          placeholder="type  ( / )"
          name="type"
          size="14"
          value=${type}
          data-search
          onChange=${(event: Event) => setType((event.target as HTMLInputElement).value.trim())}
        />
        ${TASK_STATUSES.map(
          (status) =>
            html`<button
              class=${`chip${selected.has(status) ? ' on' : ''}`}
              type="button"
              data-filter-status=${status}
              title=${TERMINAL_TASK_STATUSES.includes(status) ? `${status} in the last hour` : `${status} now`}
              onClick=${() => toggle(status)}
            >
              ${status} <span class="count">${statusCount(status, ofType, stats)}</span>
            </button>`,
        )}
      </div>
      <${Table} titles=${['Status', 'Type', 'Class', 'Created', 'Duration', 'Attempt', 'Id']} hideNarrow=${['Class', 'Attempt', 'Id']}>
        ${listed.map(
          (task) =>
            html`<tr data-id=${task.id} data-status=${task.status} key=${task.id}>
              <td>${link(task, html`<${Badge} status=${task.status} />`)}</td>
              <td>${link(task, task.type)}</td>
              <td class="muted hide-narrow">${task.class ?? ''}</td>
              <td class="muted"><${When} at=${task.createdAt} /></td>
              <td class="muted" data-duration>${taskDuration(task)}</td>
              <td class="muted hide-narrow">${task.attempt}</td>
              <td class="muted mono hide-narrow">${link(task, task.id)}</td>
            </tr>`,
        )}
      <//>
      <div class="row spaced">
        ${[...cursors.current.values()].some(Boolean) && html`<button class="secondary" type="button" onClick=${loadMore}>Older tasks</button>`}
        <span class="muted" data-summary>${listed.length} tasks listed</span>
        <span class="error">${error}</span>
      </div>
    </div>`;
}

export const tasksPage = (query: URLSearchParams) => mountView(html`<${Tasks} query=${query} />`);
