import type { TaskView } from '#libs/contracts';
import { api } from '../api.js';
import { badge, confirmAction, duration, h, mount, table, ticker, time, when } from '../dom.js';
import { taskDuration } from './tasks.page.js';

interface Schedule {
  id: string;
  name: string;
  cron?: string;
  everyMs?: number;
  timezone?: string;
  task: { type: string; params: Record<string, unknown>; class: string };
  paused: boolean;
  createdAt: string;
}

const cadence = (schedule: Schedule) =>
  schedule.cron ? `cron ${schedule.cron}${schedule.timezone ? ` (${schedule.timezone})` : ''}` : `every ${duration(schedule.everyMs ?? 0)}`;

/** When an interval schedule ticks next, from the newest task it made (cron ones are the server's to compute). */
function nextRun(schedule: Schedule, newest?: TaskView): string {
  if (schedule.paused) return 'paused';
  if (!schedule.everyMs || !newest) return '—';
  return time(new Date(Date.parse(newest.createdAt) + schedule.everyMs).toISOString());
}

/**
 * Schedules: create (cron or interval), pause and resume, delete; `#/schedules/<id>` shows
 * one schedule and the tasks it made, newest first, each a link.
 */
export function schedulesPage(id?: string): () => void {
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
  const actions = (schedule: Schedule) =>
    h(
      'span.row',
      {},
      h(
        'button.secondary.small',
        {
          type: 'button',
          dataset: { toggle: schedule.name },
          onclick: () => void act(() => api('POST', `/v1/schedules/${schedule.id}/${schedule.paused ? 'resume' : 'pause'}`)),
        },
        schedule.paused ? 'Resume' : 'Pause',
      ),
      h(
        'button.danger.small',
        {
          type: 'button',
          onclick: async () => {
            if (!(await confirmAction(`Delete the schedule ${schedule.name}? The tasks it made stay.`, 'Delete'))) return;
            await act(() => api('DELETE', `/v1/schedules/${schedule.id}`));
            if (id) location.hash = '#/schedules';
          },
        },
        'Delete',
      ),
    );

  async function load() {
    if (id) {
      const [schedule, runs] = await Promise.all([
        api<Schedule>('GET', `/v1/schedules/${id}`),
        api<{ items: TaskView[] }>('GET', `/v1/schedules/${id}/runs?limit=50`),
      ]);
      body.replaceChildren(
        h(
          'div.panel',
          { dataset: { schedule: schedule.name } },
          h('h2', {}, schedule.name, ' ', schedule.paused ? badge('PAUSED') : badge('ACTIVE')),
          h(
            'dl.facts',
            {},
            h('dt', {}, 'Runs'),
            h('dd', {}, cadence(schedule)),
            h('dt', {}, 'Next run'),
            h('dd', { dataset: { fact: 'next-run' } }, nextRun(schedule, runs.items[0])),
            h('dt', {}, 'Task'),
            h('dd', {}, h('pre.json', {}, JSON.stringify(schedule.task, null, 2))),
            h('dt', {}, 'Created'),
            h('dd', {}, time(schedule.createdAt)),
          ),
          actions(schedule),
        ),
        h(
          'div.panel',
          {},
          h('h2', {}, 'Tasks it made'),
          table(
            ['Status', 'Created', 'Duration', 'Task'],
            h(
              'tbody',
              {},
              ...runs.items.map((task) =>
                h(
                  'tr',
                  { dataset: { id: task.id } },
                  h('td', {}, badge(task.status)),
                  h('td.muted', {}, when(task.createdAt)),
                  h('td.muted', {}, taskDuration(task)),
                  h('td.mono', {}, h('a', { href: `#/tasks/${task.id}` }, task.id)),
                ),
              ),
            ),
          ),
        ),
      );
      return;
    }
    const schedules = await api<Schedule[]>('GET', '/v1/schedules');
    body.replaceChildren(
      h(
        'div.panel',
        {},
        table(
          ['Name', 'Runs', 'Task', 'State', ''],
          h(
            'tbody',
            {},
            ...schedules.map((schedule) =>
              h(
                'tr',
                { dataset: { schedule: schedule.name } },
                h('td', {}, h('a', { href: `#/schedules/${schedule.id}` }, schedule.name)),
                h('td.muted', {}, cadence(schedule)),
                h('td', {}, schedule.task.type),
                h('td', {}, schedule.paused ? badge('PAUSED') : badge('ACTIVE')),
                h('td', {}, actions(schedule)),
              ),
            ),
          ),
        ),
      ),
    );
  }

  const name = h('input', { placeholder: 'name', name: 'schedule-name', size: 16 });
  const when_ = h('input', { placeholder: 'cron (0 3 * * *) or seconds (60)', name: 'schedule-when', size: 26 });
  const type = h('select', { name: 'schedule-type' }, ...['shell', 'sleep', 'noop'].map((value) => h('option', { value }, value)));
  const params = h('input', { placeholder: '{"command":"echo","args":["hi"]}', name: 'schedule-params', size: 30 });
  const form = h(
    'form.row',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        void act(async () => {
          const seconds = Number(when_.value);
          const cadence =
            Number.isFinite(seconds) && when_.value.trim() ? { everyMs: Math.round(seconds * 1000) } : { cron: when_.value.trim() };
          const created = await api('POST', '/v1/schedules', {
            name: name.value,
            ...cadence,
            task: { type: type.value, params: params.value.trim() ? JSON.parse(params.value) : {} },
          });
          location.hash = `#/schedules/${created.id}`;
        });
      },
    },
    name,
    when_,
    type,
    params,
    h('button', { type: 'submit' }, 'Create schedule'),
  );
  mount(h('h1', {}, id ? h('a', { href: '#/schedules' }, 'Schedules') : 'Schedules'), h('div.panel', {}, id ? '' : form, message), body);
  void load().catch((failure: Error) => (message.textContent = failure.message));
  return ticker();
}
