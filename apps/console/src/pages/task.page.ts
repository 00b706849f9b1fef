import type { TaskView } from '#libs/contracts';
import { api } from '../api.js';
import { badge, copyButton, duration, h, mount, table, ticker, time, when } from '../dom.js';
import { LogViewer, type LogChunk } from '../log-viewer.js';
import { realtime } from '../realtime.js';
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
const readable = (value: unknown) =>
  value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
    ? h('span.muted', {}, '—')
    : h('pre.json', {}, JSON.stringify(value, null, 2));

/**
 * One task: its facts, a timeline of every attempt (waited, ran, how it ended), cancel and
 * re-run, and its live log with times, colours, search and download. The page subscribes
 * first and shows the snapshot, so nothing between load and live is lost; an id that names
 * no task says so.
 */
export function taskPage(id: string): () => void {
  const facts = h('dl.facts');
  const attempts = h('tbody');
  const viewer = new LogViewer();
  const lineCount = h('span.muted', { dataset: { lineCount: '' } });
  const matchCount = h('span.muted', { dataset: { matchCount: '' } });
  const search = h('input', { type: 'search', placeholder: 'search the log  ( / )', name: 'log-search', dataset: { search: '' } });
  const matchingOnly = h('input', { type: 'checkbox', name: 'matching-only' });
  const wrap = h('input', { type: 'checkbox', name: 'wrap' });
  const streamButtons = STREAMS.map((stream) =>
    h(`button.chip${stream === 'ALL' ? '.on' : ''}`, { type: 'button', dataset: { stream } }, stream === 'ALL' ? 'All' : stream),
  );
  let task: TaskView | undefined;
  const cancel = h('button.danger', { type: 'button', hidden: true, onclick: () => void api('POST', `/v1/tasks/${id}/cancel`) }, 'Cancel');
  const rerun = h(
    'button.secondary',
    {
      type: 'button',
      hidden: true,
      onclick: async () => {
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
        });
        location.hash = `#/tasks/${copy.id}`;
      },
    },
    'Re-run',
  );
  const origin = h('span.muted');

  for (const button of streamButtons) {
    button.addEventListener('click', () => {
      for (const other of streamButtons) other.classList.toggle('on', other === button);
      viewer.setStream(button.dataset.stream as (typeof STREAMS)[number]);
    });
  }
  search.addEventListener('input', () => viewer.setSearch(search.value));
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') viewer.step(event.shiftKey ? -1 : 1);
  });
  matchingOnly.addEventListener('change', () => viewer.setMatchingOnly(matchingOnly.checked));
  wrap.addEventListener('change', () => viewer.setWrap(wrap.checked));
  viewer.onChange = () => {
    lineCount.textContent = `${viewer.lineCount} lines`;
    matchCount.textContent = search.value ? `${viewer.currentMatch} / ${viewer.matchCount} matches` : '';
  };
  const download = () => {
    const link = h('a', { href: URL.createObjectURL(new Blob([viewer.asText()], { type: 'text/plain' })), download: `task-${id}.log` });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  };

  function show(next: TaskView) {
    task = next;
    const finished = FINISHED.includes(task.status);
    cancel.hidden = finished;
    rerun.hidden = false;
    origin.replaceChildren(
      ...(task.scheduleId ? ['made by ', h('a', { href: `#/schedules/${task.scheduleId}` }, 'a schedule')] : []),
      ...(task.trigger ? ['made by ', h('a', { href: `#/triggers/${task.trigger.triggerId}` }, 'a trigger')] : []),
    );
    facts.replaceChildren(
      ...(
        [
          ['Status', badge(task.status)],
          ['Type', `${task.type} (${task.class ?? 'normal'})`],
          ['Attempt', `${task.attempt} of ${task.maxAttempts}`],
          ['Progress', task.progress === undefined ? '—' : `${Math.round(task.progress * 100)}%`],
          ['Created', h('span', {}, when(task.createdAt), ' · ', time(task.createdAt))],
          ['Started', time(task.startedAt)],
          ['Finished', time(task.finishedAt)],
          ['Duration', taskDuration(task)],
          ['Worker', task.workerId ?? '—'],
          ['Params', readable(task.params)],
          ...(task.result !== undefined ? [['Result', readable(task.result)]] : []),
          ...(task.error ? [['Error', h('span.error', {}, task.error)]] : []),
        ] as [string, Node | string][]
      ).flatMap(([label, value]) => [h('dt', {}, label), h('dd', { dataset: { fact: label.toLowerCase() } }, value)]),
    );
    // Each attempt waited from the task's creation (or the previous attempt's end) until a worker started it, then ran.
    let readyAt = Date.parse(task.createdAt);
    attempts.replaceChildren(
      ...(task.attempts ?? []).map((attempt) => {
        const started = Date.parse(attempt.startedAt);
        const ended = attempt.finishedAt ? Date.parse(attempt.finishedAt) : undefined;
        const waited = started - readyAt;
        readyAt = ended ?? started;
        return h(
          'tr',
          { dataset: { attempt: String(attempt.attempt) } },
          h('td', {}, String(attempt.attempt)),
          h('td', {}, attempt.status ? badge(attempt.status) : badge('PROCESSING')),
          h('td.muted', { dataset: { waited: '' } }, duration(waited)),
          h(
            'td.muted',
            { dataset: { ran: '' } },
            ended === undefined ? `${duration(Date.now() - started)} so far` : duration(ended - started),
          ),
          h('td.muted.hide-narrow', {}, attempt.workerId),
          h('td.muted.hide-narrow', {}, time(attempt.startedAt)),
          h('td.error', {}, attempt.error ?? ''),
        );
      }),
    );
  }

  function notFound(message: string) {
    unsubscribe();
    mount(
      h('h1', {}, 'Task not found'),
      h(
        'div.panel',
        { dataset: { notFound: '' } },
        h('p', {}, 'No task ', h('code', {}, id), ' in this organization. ', h('span.muted', {}, message)),
        h('a', { href: '#/tasks' }, '← all tasks'),
      ),
    );
  }

  mount(
    h('h1', {}, 'Task ', h('span.muted.mono.id', {}, id), ' ', copyButton(id, 'Copy id')),
    h('div.panel', {}, h('div.row', {}, cancel, rerun, origin), facts),
    h(
      'div.panel',
      {},
      h('h2', {}, 'Timeline'),
      table(['#', 'Status', 'Waited', 'Ran', 'Worker', 'Started', 'Error'], attempts, ['Worker', 'Started']),
    ),
    h(
      'div.panel',
      {},
      h('div.toolbar', {}, ...streamButtons, h('span.grow'), lineCount),
      h(
        'div.toolbar',
        {},
        search,
        h(
          'button.secondary.small',
          { type: 'button', title: 'previous match (Shift+Enter)', dataset: { previousMatch: '' }, onclick: () => viewer.step(-1) },
          '↑',
        ),
        h(
          'button.secondary.small',
          { type: 'button', title: 'next match (Enter)', dataset: { nextMatch: '' }, onclick: () => viewer.step(1) },
          '↓',
        ),
        matchCount,
        h('label', {}, matchingOnly, ' matching only'),
        h('label', {}, wrap, ' wrap'),
        h('span.grow'),
        h(
          'button.secondary.small',
          { type: 'button', dataset: { firstError: '' }, onclick: () => viewer.jumpToFirstError() },
          'First error',
        ),
        h('button.secondary.small', { type: 'button', dataset: { download: '' }, onclick: download }, 'Download'),
      ),
      viewer.element,
    ),
  );

  // The snapshot holds the task and its first log chunks; live chunks wait until the rest of the history is in, then only newer ones apply.
  const waiting: LogChunk[] = [];
  let historyLoaded = false;
  async function loadHistory(snapshot: TaskSnapshot) {
    viewer.add(snapshot.logs);
    for (let after = snapshot.logsNext; after !== null;) {
      const page = await api('GET', `/v1/tasks/${id}/logs?after=${after}&limit=${LOG_PAGE}`);
      viewer.add(page.items);
      after = page.next;
    }
    historyLoaded = true;
    viewer.add(waiting.splice(0).sort((a, b) => a.seq - b.seq));
  }
  const unsubscribe = realtime.subscribe(
    { topic: 'task', id },
    (snapshot: TaskSnapshot) => {
      show(snapshot.task);
      historyLoaded = false;
      void loadHistory(snapshot).catch((failure: Error) => notFound(failure.message));
    },
    (event) => {
      if (event.type === 'task.updated') show(event.data);
      else if (event.type === 'task.log' && historyLoaded) viewer.add([event.data]);
      else if (event.type === 'task.log') waiting.push(event.data);
    },
    (error) => {
      if (error.code === 'not_found') notFound(error.message);
    },
  );
  const stopTicker = ticker();
  return () => {
    unsubscribe();
    stopTicker();
  };
}
