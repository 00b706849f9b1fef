import { api } from '../api.js';
import { h, mount, time } from '../dom.js';
import { realtime } from '../realtime.js';

/** Workers with live status dots (green ONLINE, yellow DRAINING, red OFFLINE). */
export function workersPage(): () => void {
  const rows = h('tbody');
  const workers = new Map<string, any>();
  const render = () =>
    rows.replaceChildren(
      ...[...workers.values()].map((worker) =>
        h(
          'tr',
          { dataset: { id: worker.id } },
          h('td', {}, h(`span.dot.${worker.status}`), worker.status),
          h('td', {}, worker.id),
          h('td.muted', {}, time(worker.lastHeartbeatAt)),
          h('td', {}, `${worker.running} / ${worker.concurrency}`),
        ),
      ),
    );
  mount(
    h('h1', {}, 'Workers'),
    h(
      'div.panel',
      {},
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...['Status', 'Worker', 'Last heartbeat', 'Running'].map((title) => h('th', {}, title)))),
        rows,
      ),
    ),
  );
  void api('GET', '/v1/workers').then((list: any[]) => {
    for (const worker of list) workers.set(worker.id, worker);
    render();
  });
  return realtime.subscribe(
    { topic: 'worker' },
    () => undefined,
    (event) => {
      workers.set(event.data.id, event.data);
      render();
    },
  );
}
