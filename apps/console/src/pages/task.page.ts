import { api } from '../api.js';
import { badge, h, mount, time } from '../dom.js';
import { LogViewer, type LogChunk } from '../log-viewer.js';
import { realtime } from '../realtime.js';

const LOG_PAGE = 5000;
const STREAMS = ['ALL', 'STDOUT', 'STDERR', 'SYSTEM'] as const;

/** One task: status, timings, attempts, result or error, cancel and re-run, and its live log. */
export function taskPage(id: string): () => void {
  const facts = h('dl.facts');
  const attempts = h('tbody');
  const viewer = new LogViewer();
  const lineCount = h('span.muted');
  const search = h('input', { type: 'search', placeholder: 'search the log', name: 'log-search' });
  const streamButtons = STREAMS.map((stream) =>
    h(`button.chip${stream === 'ALL' ? '.on' : ''}`, { type: 'button', dataset: { stream } }, stream === 'ALL' ? 'All' : stream),
  );
  let task: any;
  const cancel = h('button.danger', { onclick: () => void api('POST', `/v1/tasks/${id}/cancel`) }, 'Cancel');
  const rerun = h(
    'button.secondary',
    {
      onclick: async () => {
        const copy = await api('POST', '/v1/tasks', { type: task.type, params: task.params, class: task.class, priority: task.priority });
        location.hash = `#/tasks/${copy.id}`;
      },
    },
    'Re-run',
  );

  for (const button of streamButtons) {
    button.addEventListener('click', () => {
      for (const other of streamButtons) other.classList.toggle('on', other === button);
      viewer.setStream(button.dataset.stream as (typeof STREAMS)[number]);
      lineCount.textContent = `${viewer.lineCount} lines`;
    });
  }
  search.addEventListener('input', () => viewer.setSearch(search.value));

  function show(next: any) {
    task = next;
    const finished = ['SUCCESS', 'FAILED', 'CANCELLED'].includes(task.status);
    cancel.hidden = finished;
    facts.replaceChildren(
      ...[
        ['Status', badge(task.status)],
        ['Type', `${task.type} (${task.class ?? 'normal'})`],
        ['Attempt', `${task.attempt} of ${task.maxAttempts}`],
        ['Progress', task.progress === undefined ? '—' : `${Math.round(task.progress * 100)}%`],
        ['Created', time(task.createdAt)],
        ['Started', time(task.startedAt)],
        ['Finished', time(task.finishedAt)],
        ['Worker', task.workerId ?? '—'],
        ['Params', JSON.stringify(task.params)],
        ...(task.result !== undefined ? [['Result', JSON.stringify(task.result)]] : []),
        ...(task.error ? [['Error', h('span.error', {}, task.error)]] : []),
      ].flatMap(([label, value]) => [
        h('dt', {}, label as string),
        h('dd', { dataset: { fact: String(label).toLowerCase() } }, value as Node | string),
      ]),
    );
    attempts.replaceChildren(
      ...(task.attempts ?? []).map((attempt: any) =>
        h(
          'tr',
          {},
          h('td', {}, String(attempt.attempt)),
          h('td', {}, attempt.status ? badge(attempt.status) : '…'),
          h('td.muted', {}, time(attempt.startedAt)),
          h('td.muted', {}, time(attempt.finishedAt)),
          h('td.error', {}, attempt.error ?? ''),
        ),
      ),
    );
  }

  function addLogs(chunks: LogChunk[]) {
    viewer.add(chunks);
    lineCount.textContent = `${viewer.lineCount} lines`;
  }

  mount(
    h('h1', {}, 'Task ', h('span.muted', {}, id)),
    h('div.panel', {}, h('div.row', {}, cancel, rerun), facts),
    h(
      'div.panel',
      {},
      h('h2', {}, 'Attempts'),
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...['#', 'Status', 'Started', 'Finished', 'Error'].map((title) => h('th', {}, title)))),
        attempts,
      ),
    ),
    h('div.panel', {}, h('div.toolbar', {}, ...streamButtons, h('span.grow'), search, lineCount), viewer.element),
  );

  // Live first, history second: events that arrive while history loads wait, then only the newer ones apply.
  const waiting: LogChunk[] = [];
  let historyLoaded = false;
  const unsubscribe = realtime.subscribe(
    { topic: 'task', id },
    () => undefined,
    (event) => {
      if (event.type === 'task.updated') show(event.data);
      else if (event.type === 'task.log' && historyLoaded) addLogs([event.data]);
      else if (event.type === 'task.log') waiting.push(event.data);
    },
  );
  void (async () => {
    show(await api('GET', `/v1/tasks/${id}`));
    for (let after = 0; ;) {
      const page = await api('GET', `/v1/tasks/${id}/logs?after=${after}&limit=${LOG_PAGE}`);
      addLogs(page.items);
      if (page.next === null) break;
      after = page.next;
    }
    historyLoaded = true;
    addLogs(waiting.sort((a, b) => a.seq - b.seq));
  })();
  return unsubscribe;
}
