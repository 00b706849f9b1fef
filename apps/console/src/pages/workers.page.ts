import type { WorkerView } from '#libs/contracts';
import { api } from '../api.js';
import { h, mount, table, ticker, when } from '../dom.js';
import { realtime } from '../realtime.js';

/** Offline workers silent for longer than this are from processes long gone: listed only on request. */
const OLD_OFFLINE_MS = 10 * 60_000;
/**
 * Workers announce a change of status as an event, but not each heartbeat (that would be an
 * event per worker every few seconds for every org): the running count and the heartbeat
 * time are re-read at this pace while the page is open.
 */
const REFRESH_MS = 3000;

/** Workers with live status dots (green ONLINE, yellow DRAINING, red OFFLINE), running count and last heartbeat. */
export function workersPage(): () => void {
  const rows = h('tbody');
  const workers = new Map<string, WorkerView>();
  const showOld = h('input', { type: 'checkbox', name: 'show-old' });
  const oldCount = h('span.muted');
  const isOld = (worker: WorkerView) => worker.status === 'OFFLINE' && Date.now() - Date.parse(worker.lastHeartbeatAt) > OLD_OFFLINE_MS;

  const render = () => {
    const all = [...workers.values()].sort((a, b) => b.lastHeartbeatAt.localeCompare(a.lastHeartbeatAt));
    const old = all.filter(isOld);
    oldCount.textContent = `show ${old.length} offline for over 10 min`;
    rows.replaceChildren(
      ...all
        .filter((worker) => showOld.checked || !isOld(worker))
        .map((worker) =>
          h(
            `tr.${worker.status}`,
            { dataset: { id: worker.id, status: worker.status } },
            h('td', {}, h(`span.dot.${worker.status}`), worker.status),
            h('td.mono', {}, worker.id, h('div.muted', {}, `${worker.hostname} · pid ${worker.pid}`)),
            h('td', { dataset: { running: '' } }, `${worker.running} / ${worker.concurrency}`),
            h('td.muted', { dataset: { heartbeat: '' } }, when(worker.lastHeartbeatAt)),
            h('td.muted.hide-narrow', {}, when(worker.startedAt)),
          ),
        ),
    );
  };
  showOld.addEventListener('change', render);
  mount(
    h('h1', {}, 'Workers'),
    h(
      'div.panel',
      {},
      h('div.toolbar', {}, h('label', {}, showOld, ' ', oldCount)),
      table(['Status', 'Worker', 'Running', 'Last heartbeat', 'Started'], rows, ['Started']),
    ),
  );
  const replaceAll = (list: WorkerView[]) => {
    workers.clear();
    for (const worker of list) workers.set(worker.id, worker);
    render();
  };
  const unsubscribe = realtime.subscribe({ topic: 'worker' }, replaceAll, (event) => {
    workers.set(event.data.id, event.data);
    render();
  });
  const refresh = setInterval(() => void api<WorkerView[]>('GET', '/v1/workers').then(replaceAll, () => undefined), REFRESH_MS);
  const stopTicker = ticker();
  return () => {
    unsubscribe();
    clearInterval(refresh);
    stopTicker();
  };
}
