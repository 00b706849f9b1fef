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

type CronParser = (typeof import('cron-parser'))['CronExpressionParser'];
/** The cron parser the scheduler uses too; loaded only when a page shows a cron schedule (it brings a date library along). */
const loadCronParser = async () => (await import('cron-parser')).CronExpressionParser;

/** The next few ticks: from the cron pattern in its time zone, or every `everyMs` after the newest task the schedule made. */
export function nextRuns(
  schedule: Schedule,
  CronExpressionParser: CronParser | undefined,
  newest?: TaskView,
  count = 3,
  now = Date.now(),
): Date[] {
  if (schedule.paused) return [];
  if (schedule.cron) {
    if (!CronExpressionParser) return [];
    try {
      const times = CronExpressionParser.parse(schedule.cron, {
        currentDate: new Date(now),
        ...(schedule.timezone ? { tz: schedule.timezone } : {}),
      });
      return Array.from({ length: count }, () => times.next().toDate());
    } catch {
      return [];
    }
  }
  const every = schedule.everyMs ?? 0;
  if (!every) return [];
  let next = (newest ? Date.parse(newest.createdAt) : now) + every;
  while (next < now) next += every;
  return Array.from({ length: count }, (_, index) => new Date(next + index * every));
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
      const parser = schedule.cron ? await loadCronParser() : undefined;
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
            h('dt', {}, 'Next runs'),
            h(
              'dd',
              { dataset: { fact: 'next-runs' } },
              schedule.paused
                ? 'none while paused'
                : nextRuns(schedule, parser, runs.items[0])
                    .map((at) => time(at.toISOString()))
                    .join(' · ') || '—',
            ),
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
    const parser = schedules.some((schedule) => schedule.cron) ? await loadCronParser() : undefined;
    body.replaceChildren(
      h(
        'div.panel',
        {},
        table(
          ['Name', 'Runs', 'Next run', 'Task', 'State', ''],
          h(
            'tbody',
            {},
            ...schedules.map((schedule) =>
              h(
                'tr',
                { dataset: { schedule: schedule.name } },
                h('td', {}, h('a', { href: `#/schedules/${schedule.id}` }, schedule.name)),
                h('td.muted', {}, cadence(schedule)),
                h(
                  'td.muted',
                  { dataset: { nextRun: '' } },
                  schedule.cron && !schedule.paused ? when(nextRuns(schedule, parser)[0]?.toISOString()) : schedule.paused ? '—' : '',
                ),
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
