import type { TaskView } from '#libs/contracts';
import { api } from '../api.js';
import { confirmAction, duration, time } from '../dom.js';
import { Badge, field, html, mountView, Table, useRecords, When } from '../ui.js';
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

const stateOf = (schedule: Schedule) => html`<${Badge} status=${schedule.paused ? 'PAUSED' : 'ACTIVE'} />`;

function Actions({
  schedule,
  run,
  afterDelete,
}: {
  schedule: Schedule;
  run: (work: () => Promise<unknown>) => Promise<void>;
  afterDelete?: () => void;
}) {
  const remove = async () => {
    if (!(await confirmAction(`Delete the schedule ${schedule.name}? The tasks it made stay.`, 'Delete'))) return;
    await run(() => api('DELETE', `/v1/schedules/${schedule.id}`));
    afterDelete?.();
  };
  return html`<span class="row">
    <button
      class="secondary small"
      type="button"
      data-toggle=${schedule.name}
      onClick=${() => run(() => api('POST', `/v1/schedules/${schedule.id}/${schedule.paused ? 'resume' : 'pause'}`))}
    >
      ${schedule.paused ? 'Resume' : 'Pause'}
    </button>
    <button class="danger small" type="button" onClick=${remove}>Delete</button>
  </span>`;
}

const loadSchedules = async () => {
  const schedules = await api<Schedule[]>('GET', '/v1/schedules');
  return { schedules, parser: schedules.some((schedule) => schedule.cron) ? await loadCronParser() : undefined };
};

/** Every schedule, with a form to create one (cron, or an interval in seconds). */
function Schedules() {
  const { records, error, run } = useRecords(loadSchedules);
  const create = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const when = field(form, 'schedule-when').trim();
    const params = field(form, 'schedule-params').trim();
    void run(async () => {
      const seconds = Number(when);
      const created = await api('POST', '/v1/schedules', {
        name: field(form, 'schedule-name'),
        ...(when && Number.isFinite(seconds) ? { everyMs: Math.round(seconds * 1000) } : { cron: when }),
        task: { type: field(form, 'schedule-type'), params: params ? JSON.parse(params) : {} },
      });
      location.hash = `#/schedules/${created.id}`;
    });
  };
  return html`<h1>Schedules</h1>
    <div class="panel">
      <form class="row" onSubmit=${create}>
        <input placeholder="name" name="schedule-name" size="16" />
        <input placeholder="cron (0 3 * * *) or seconds (60)" name="schedule-when" size="26" />
        <select name="schedule-type">
          ${['shell', 'sleep', 'noop'].map((type) => html`<option value=${type}>${type}</option>`)}
        </select>
        <input placeholder='{"command":"echo","args":["hi"]}' name="schedule-params" size="30" />
        <button type="submit">Create schedule</button>
      </form>
      <span class="error">${error}</span>
    </div>
    <div class="panel">
      <${Table} titles=${['Name', 'Runs', 'Next run', 'Task', 'State', '']}>
        ${records?.schedules.map(
          (schedule) =>
            html`<tr data-schedule=${schedule.name} key=${schedule.id}>
              <td><a href=${`#/schedules/${schedule.id}`}>${schedule.name}</a></td>
              <td class="muted">${cadence(schedule)}</td>
              <td class="muted" data-next-run>
                ${schedule.paused ? '—' : schedule.cron ? html`<${When} at=${nextRuns(schedule, records.parser)[0]?.toISOString()} />` : ''}
              </td>
              <td>${schedule.task.type}</td>
              <td>${stateOf(schedule)}</td>
              <td><${Actions} schedule=${schedule} run=${run} /></td>
            </tr>`,
        )}
      <//>
    </div>`;
}

/** One schedule: how it runs, its next ticks, and the tasks it made, newest first, each a link. */
function ScheduleDetail({ id }: { id: string }) {
  const load = async () => {
    const [schedule, runs] = await Promise.all([
      api<Schedule>('GET', `/v1/schedules/${id}`),
      api<{ items: TaskView[] }>('GET', `/v1/schedules/${id}/runs?limit=50`),
    ]);
    return { schedule, runs: runs.items, parser: schedule.cron ? await loadCronParser() : undefined };
  };
  const { records, error, run } = useRecords(load, [id]);
  const schedule = records?.schedule;
  const next =
    schedule &&
    (schedule.paused
      ? 'none while paused'
      : nextRuns(schedule, records.parser, records.runs[0])
          .map((at) => time(at.toISOString()))
          .join(' · ') || '—');
  return html`<h1><a href="#/schedules">Schedules</a></h1>
    <div class="panel"><span class="error">${error}</span></div>
    ${
      schedule &&
      html`<div class="panel" data-schedule=${schedule.name}>
          <h2>${schedule.name} ${stateOf(schedule)}</h2>
          <dl class="facts">
            <dt>Runs</dt>
            <dd>${cadence(schedule)}</dd>
            <dt>Next runs</dt>
            <dd data-fact="next-runs">${next}</dd>
            <dt>Task</dt>
            <dd><pre class="json">${JSON.stringify(schedule.task, null, 2)}</pre></dd>
            <dt>Created</dt>
            <dd>${time(schedule.createdAt)}</dd>
          </dl>
          <${Actions} schedule=${schedule} run=${run} afterDelete=${() => (location.hash = '#/schedules')} />
        </div>
        <div class="panel">
          <h2>Tasks it made</h2>
          <${Table} titles=${['Status', 'Created', 'Duration', 'Task']}>
            ${records.runs.map(
              (task) =>
                html`<tr data-id=${task.id} key=${task.id}>
                  <td><${Badge} status=${task.status} /></td>
                  <td class="muted"><${When} at=${task.createdAt} /></td>
                  <td class="muted">${taskDuration(task)}</td>
                  <td class="mono"><a href=${`#/tasks/${task.id}`}>${task.id}</a></td>
                </tr>`,
            )}
          <//>
        </div>`
    }`;
}

/** Schedules: create (cron or interval), pause and resume, delete; `#/schedules/<id>` shows one. */
export const schedulesPage = (id?: string) => mountView(id ? html`<${ScheduleDetail} id=${id} />` : html`<${Schedules} />`);
