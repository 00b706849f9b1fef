import type { TaskView } from '#libs/contracts';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { duration, time } from '../dom.js';
import { LogViewer, type LogChunk } from '../log-viewer.js';
import { realtime } from '../realtime.js';
import { Badge, CopyButton, html, mountView, Table, When } from '../ui.js';
import { taskDuration } from './tasks.page.js';

const LOG_PAGE = 5000;
const STREAMS = ['ALL', 'STDOUT', 'STDERR', 'SYSTEM'] as const;
const FINISHED = ['SUCCESS', 'FAILED', 'CANCELLED'];

interface TaskSnapshot {
  task: TaskView;
  logs: LogChunk[];
  logsNext: number | null;
}

/** JSON as a person reads it: indented, or a dash for nothing. */
const Readable = ({ value }: { value: unknown }) =>
  value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
    ? html`<span class="muted">—</span>`
    : html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;

/** Each attempt: how long it waited (from the task's creation or the previous attempt's end) until a worker started it, then how long it ran. */
function Timeline({ task }: { task: TaskView }) {
  let readyAt = Date.parse(task.createdAt);
  return html`<${Table} titles=${['#', 'Status', 'Waited', 'Ran', 'Worker', 'Started', 'Error']} hideNarrow=${['Worker', 'Started']}>
    ${(task.attempts ?? []).map((attempt) => {
      const started = Date.parse(attempt.startedAt);
      const ended = attempt.finishedAt ? Date.parse(attempt.finishedAt) : undefined;
      const waited = started - readyAt;
      readyAt = ended ?? started;
      return html`<tr data-attempt=${attempt.attempt} key=${attempt.attempt}>
        <td>${attempt.attempt}</td>
        <td><${Badge} status=${attempt.status ?? 'PROCESSING'} /></td>
        <td class="muted" data-waited>${duration(waited)}</td>
        <td class="muted" data-ran>${ended === undefined ? `${duration(Date.now() - started)} so far` : duration(ended - started)}</td>
        <td class="muted hide-narrow">${attempt.workerId}</td>
        <td class="muted hide-narrow">${time(attempt.startedAt)}</td>
        <td class="error">${attempt.error ?? ''}</td>
      </tr>`;
    })}
  <//>`;
}

function Facts({ task }: { task: TaskView }) {
  const facts: [string, unknown][] = [
    ['Status', html`<${Badge} status=${task.status} />`],
    ['Type', `${task.type} (${task.class ?? 'normal'})`],
    ['Attempt', `${task.attempt} of ${task.maxAttempts}`],
    ['Progress', task.progress === undefined ? '—' : `${Math.round(task.progress * 100)}%`],
    ['Created', html`<${When} at=${task.createdAt} /> · ${time(task.createdAt)}`],
    ['Started', time(task.startedAt)],
    ['Finished', time(task.finishedAt)],
    ['Duration', taskDuration(task)],
    ['Worker', task.workerId ?? '—'],
    ['Params', html`<${Readable} value=${task.params} />`],
    ...(task.result !== undefined ? [['Result', html`<${Readable} value=${task.result} />`] as [string, unknown]] : []),
    ...(task.error ? [['Error', html`<span class="error">${task.error}</span>`] as [string, unknown]] : []),
  ];
  return html`<dl class="facts">
    ${facts.map(
      ([label, value]) =>
        html`<dt>${label}</dt>
          <dd data-fact=${label.toLowerCase()}>${value}</dd>`,
    )}
  </dl>`;
}

/** The live log: stream filter, search with count, next/previous and matching only, wrap, first error, download. */
function Log({ viewer, id }: { viewer: LogViewer; id: string }) {
  const [, setCounts] = useState(0);
  const [stream, setStream] = useState<(typeof STREAMS)[number]>('ALL');
  const [search, setSearch] = useState('');
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    box.current!.append(viewer.element);
    viewer.onChange = () => setCounts((count) => count + 1);
    viewer.onChange();
  }, [viewer]);
  const download = () => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([viewer.asText()], { type: 'text/plain' }));
    link.download = `task-${id}.log`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  };
  const checkbox = (name: string, apply: (on: boolean) => void) =>
    html`<input type="checkbox" name=${name} onChange=${(event: Event) => apply((event.target as HTMLInputElement).checked)} />`;
  return html`<div class="panel">
    <div class="toolbar">
      ${STREAMS.map(
        (name) =>
          html`<button
            class=${`chip${stream === name ? ' on' : ''}`}
            type="button"
            data-stream=${name}
            onClick=${() => {
              setStream(name);
              viewer.setStream(name);
            }}
          >
            ${name === 'ALL' ? 'All' : name}
          </button>`,
      )}
      <span class="grow"></span>
      <span class="muted" data-line-count>${viewer.lineCount} lines</span>
    </div>
    <div class="toolbar">
      <input
        type="search"
        placeholder="search the log  ( / )"
        name="log-search"
        data-search
        onInput=${(event: Event) => {
          const value = (event.target as HTMLInputElement).value;
          setSearch(value);
          viewer.setSearch(value);
        }}
        onKeyDown=${(event: KeyboardEvent) => event.key === 'Enter' && viewer.step(event.shiftKey ? -1 : 1)}
      />
      <button
        class="secondary small"
        type="button"
        title="previous match (Shift+Enter)"
        data-previous-match
        onClick=${() => viewer.step(-1)}
      >
        ↑
      </button>
      <button class="secondary small" type="button" title="next match (Enter)" data-next-match onClick=${() => viewer.step(1)}>↓</button>
      <span class="muted" data-match-count>${search ? `${viewer.currentMatch} / ${viewer.matchCount} matches` : ''}</span>
      <label>${checkbox('matching-only', (on) => viewer.setMatchingOnly(on))} matching only</label>
      <label>${checkbox('wrap', (on) => viewer.setWrap(on))} wrap</label>
      <span class="grow"></span>
      <button class="secondary small" type="button" data-first-error onClick=${() => viewer.jumpToFirstError()}>First error</button>
      <button class="secondary small" type="button" data-download onClick=${download}>Download</button>
    </div>
    <div ref=${box}></div>
  </div>`;
}

/**
 * One task: its facts, a timeline of every attempt, cancel and re-run, copy id, and its live
 * log. The page subscribes first and shows the snapshot, so nothing between load and live is
 * lost; an id that names no task says so.
 */
function Task({ id }: { id: string }) {
  const [task, setTask] = useState<TaskView | undefined>(undefined);
  const [missing, setMissing] = useState<string | undefined>(undefined);
  const viewer = useRef<LogViewer>(undefined as unknown as LogViewer);
  viewer.current ??= new LogViewer();

  useEffect(() => {
    const log = viewer.current;
    // The snapshot holds the task and its first log chunks; live chunks wait until the rest of the history is in, then only newer ones apply.
    const waiting: LogChunk[] = [];
    let historyLoaded = false;
    async function loadHistory(snapshot: TaskSnapshot) {
      log.add(snapshot.logs);
      for (let after = snapshot.logsNext; after !== null;) {
        const page = await api('GET', `/v1/tasks/${id}/logs?after=${after}&limit=${LOG_PAGE}`);
        log.add(page.items);
        after = page.next;
      }
      historyLoaded = true;
      log.add(waiting.splice(0).sort((a, b) => a.seq - b.seq));
    }
    const unsubscribe = realtime.subscribe(
      { topic: 'task', id },
      (snapshot: TaskSnapshot) => {
        setTask(snapshot.task);
        historyLoaded = false;
        void loadHistory(snapshot).catch((failure: Error) => setMissing(failure.message));
      },
      (event) => {
        if (event.type === 'task.updated') setTask(event.data);
        else if (event.type === 'task.log' && historyLoaded) log.add([event.data]);
        else if (event.type === 'task.log') waiting.push(event.data);
      },
      (error) => {
        if (error.code === 'not_found') setMissing(error.message);
      },
    );
    return unsubscribe;
  }, [id]);

  if (missing) {
    return html`<h1>Task not found</h1>
      <div class="panel" data-not-found>
        <p>No task <code>${id}</code> in this organization. <span class="muted">${missing}</span></p>
        <a href="#/tasks">← all tasks</a>
      </div>`;
  }
  const rerun = async () => {
    const { type, params, class: taskClass, priority, timeoutMs, maxAttempts, resources, secrets } = task!;
    // The same work under the same terms: its limits, leases and secrets, not only its params.
    const copy = await api('POST', '/v1/tasks', {
      type,
      params,
      class: taskClass,
      priority,
      timeoutMs,
      maxAttempts,
      resources,
      secrets,
      rerunOf: id,
    });
    location.hash = `#/tasks/${copy.id}`;
  };
  return html`<h1>Task <span class="muted mono id">${id}</span> <${CopyButton} text=${id} label="Copy id" /></h1>
    ${
      task &&
      html`<div class="panel">
          <div class="row">
            ${
              !FINISHED.includes(task.status) &&
              html`<button class="danger" type="button" onClick=${() => api('POST', `/v1/tasks/${id}/cancel`)}>Cancel</button>`
            }
            <button class="secondary" type="button" onClick=${rerun}>Re-run</button>
            <span class="muted">
              ${task.scheduleId && html`made by <a href=${`#/schedules/${task.scheduleId}`}>a schedule</a>`}
              ${task.trigger && html`made by <a href=${`#/triggers/${task.trigger.triggerId}`}>a trigger</a>`}
              ${task.rerunOf && html`re-run of <a class="mono" data-rerun-of href=${`#/tasks/${task.rerunOf}`}>${task.rerunOf.slice(0, 8)}</a>`}
            </span>
          </div>
          <${Facts} task=${task} />
        </div>
        <div class="panel">
          <h2>Timeline</h2>
          <${Timeline} task=${task} />
        </div>`
    }
    <${Log} viewer=${viewer.current} id=${id} />`;
}

export const taskPage = (id: string) => mountView(html`<${Task} id=${id} />`);
