import type { WorkerView } from '#libs/contracts';
import { useEffect, useState } from 'preact/hooks';
import { realtime } from '../realtime.js';
import { html, mountView, Table, When } from '../ui.js';

/** Offline workers silent for longer than this are from processes long gone: listed only on request. */
const OLD_OFFLINE_MS = 10 * 60_000;

const isOld = (worker: WorkerView) => worker.status === 'OFFLINE' && Date.now() - Date.parse(worker.lastHeartbeatAt) > OLD_OFFLINE_MS;

/**
 * Workers with live status dots (green ONLINE, yellow DRAINING, red OFFLINE), running count and
 * last heartbeat, without polling: the subscription's snapshot, then each `worker.updated` a
 * worker announces when its status or running count changes (at most one per heartbeat). The
 * heartbeat shown is the one of the newest record, kept relative to now by the page's ticker.
 */
function Workers() {
  const [workers, setWorkers] = useState(new Map<string, WorkerView>());
  const [showOld, setShowOld] = useState(false);
  useEffect(() => {
    const replaceAll = (list: WorkerView[]) => setWorkers(new Map(list.map((worker) => [worker.id, worker])));
    return realtime.subscribe({ topic: 'worker' }, replaceAll, (event) =>
      setWorkers((current) => new Map(current).set(event.data.id, event.data)),
    );
  }, []);
  const all = [...workers.values()].sort((a, b) => b.lastHeartbeatAt.localeCompare(a.lastHeartbeatAt));
  const old = all.filter(isOld).length;
  return html`<h1>Workers</h1>
    <div class="panel">
      <div class="toolbar">
        <label>
          <input
            type="checkbox"
            name="show-old"
            checked=${showOld}
            onChange=${(event: Event) => setShowOld((event.target as HTMLInputElement).checked)}
          />
          ${' '}show ${old} offline for over 10 min
        </label>
      </div>
      <${Table} titles=${['Status', 'Worker', 'Running', 'Last heartbeat', 'Started']} hideNarrow=${['Started']}>
        ${all
          .filter((worker) => showOld || !isOld(worker))
          .map(
            (worker) =>
              html`<tr class=${worker.status} data-id=${worker.id} data-status=${worker.status} key=${worker.id}>
                <td><span class=${`dot ${worker.status}`}></span>${worker.status}</td>
                <td class="mono">
                  ${worker.id}
                  <div class="muted">${worker.hostname} · pid ${worker.pid}</div>
                </td>
                <td data-running>${worker.running} / ${worker.concurrency}</td>
                <td class="muted" data-heartbeat><${When} at=${worker.lastHeartbeatAt} /></td>
                <td class="muted hide-narrow"><${When} at=${worker.startedAt} /></td>
              </tr>`,
          )}
      <//>
    </div>`;
}

export const workersPage = () => mountView(html`<${Workers} />`);
