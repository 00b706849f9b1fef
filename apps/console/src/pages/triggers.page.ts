import { api } from '../api.js';
import { confirmAction } from '../dom.js';
import { Badge, field, html, mountView, Table, useRecords, When } from '../ui.js';

interface Trigger {
  id: string;
  name: string;
  table: string;
  events: string[];
  filter: Record<string, unknown>;
  task: { type: string; params: Record<string, unknown>; class: string };
  enabled: boolean;
  createdAt: string;
}
interface TriggerRun {
  taskId: string | null;
  eventType: string;
  createdAt: string;
  error?: string;
}

const EVENTS = ['INSERT', 'UPDATE', 'DELETE'];
const loadTriggers = () => api<Trigger[]>('GET', '/v1/triggers');

const describe = (trigger: Trigger) =>
  `${trigger.events.join('/')} on ${trigger.table}${Object.keys(trigger.filter ?? {}).length ? ` where ${JSON.stringify(trigger.filter)}` : ''} → ${trigger.task.type}`;
const stateOf = (trigger: Trigger) => html`<${Badge} status=${trigger.enabled ? 'ENABLED' : 'DISABLED'} />`;

function Actions({
  trigger,
  run,
  afterDelete,
}: {
  trigger: Trigger;
  run: (work: () => Promise<unknown>) => Promise<void>;
  afterDelete?: () => void;
}) {
  const remove = async () => {
    if (!(await confirmAction(`Delete the trigger ${trigger.name}?`, 'Delete'))) return;
    await run(() => api('DELETE', `/v1/triggers/${trigger.id}`));
    afterDelete?.();
  };
  return html`<span class="row">
    <button
      class="secondary small"
      type="button"
      data-toggle=${trigger.name}
      onClick=${() => run(() => api('PATCH', `/v1/triggers/${trigger.id}`, { enabled: !trigger.enabled }))}
    >
      ${trigger.enabled ? 'Disable' : 'Enable'}
    </button>
    <button class="danger small" type="button" onClick=${remove}>Delete</button>
  </span>`;
}

/** Every trigger, with a form to create one (table, events, filter, task). */
function Triggers() {
  const { records: triggers = [], error, run } = useRecords(loadTriggers);
  const create = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const events = [...form.querySelectorAll<HTMLInputElement>('input[name=trigger-event]:checked')].map((box) => box.value);
    const filter = field(form, 'trigger-filter').trim();
    const params = field(form, 'trigger-params').trim();
    void run(async () => {
      await api('POST', '/v1/triggers', {
        name: field(form, 'trigger-name'),
        table: field(form, 'trigger-table'),
        events,
        ...(filter ? { filter: JSON.parse(filter) } : {}),
        task: { type: field(form, 'trigger-type'), params: params ? JSON.parse(params) : {} },
      });
      form.reset();
    });
  };
  return html`<h1>Triggers</h1>
    <div class="panel">
      <form class="row" onSubmit=${create}>
        <input placeholder="name" name="trigger-name" size="14" />
        <input placeholder="table" name="trigger-table" size="12" />
        ${EVENTS.map(
          (event) =>
            html`<label><input type="checkbox" name="trigger-event" value=${event} checked=${event === 'INSERT'} /> ${event}</label>`,
        )}
        <input placeholder='filter {"status":"released"}' name="trigger-filter" size="20" />
        <select name="trigger-type">
          ${['shell', 'sleep', 'noop'].map((type) => html`<option value=${type}>${type}</option>`)}
        </select>
        <input placeholder="params {}" name="trigger-params" size="20" />
        <button type="submit">Create trigger</button>
      </form>
      <span class="error">${error}</span>
    </div>
    <div class="panel">
      <${Table} titles=${['Name', 'Fires on', 'State', '']}>
        ${triggers.map(
          (trigger) =>
            html`<tr data-trigger=${trigger.name} key=${trigger.id}>
              <td><a href=${`#/triggers/${trigger.id}`}>${trigger.name}</a></td>
              <td class="muted">${describe(trigger)}</td>
              <td>${stateOf(trigger)}</td>
              <td><${Actions} trigger=${trigger} run=${run} /></td>
            </tr>`,
        )}
      <//>
    </div>`;
}

/** One trigger: what fires it, the task it makes, and its recent runs, each with a link to its task. */
function TriggerRuns({ id }: { id: string }) {
  const load = async () => {
    const trigger = (await loadTriggers()).find((candidate) => candidate.id === id);
    return { trigger, runs: trigger ? await api<TriggerRun[]>('GET', `/v1/triggers/${id}/runs?limit=100`) : [] };
  };
  const { records, error, run } = useRecords(load, [id]);
  const trigger = records?.trigger;
  return html`<h1><a href="#/triggers">Triggers</a></h1>
    <div class="panel">
      <span class="error">${error}</span>
      ${records && !trigger && html`<p data-not-found>No such trigger.</p>`}
    </div>
    ${
      trigger &&
      html`<div class="panel" data-trigger=${trigger.name}>
          <h2>${trigger.name} ${stateOf(trigger)}</h2>
          <p>${describe(trigger)}</p>
          <pre class="json">${JSON.stringify(trigger.task, null, 2)}</pre>
          <${Actions} trigger=${trigger} run=${run} afterDelete=${() => (location.hash = '#/triggers')} />
        </div>
        <div class="panel">
          <h2>Runs</h2>
          <${Table} titles=${['Change', 'When', 'Task']}>
            ${records.runs.map(
              (entry) =>
                html`<tr data-run=${entry.taskId ?? ''} key=${entry.taskId ?? entry.createdAt}>
                  <td>${entry.eventType}</td>
                  <td class="muted"><${When} at=${entry.createdAt} /></td>
                  <td class="mono">
                    ${
                      entry.taskId
                        ? html`<a href=${`#/tasks/${entry.taskId}`}>${entry.taskId}</a>`
                        : html`<span class="error">no task: ${entry.error}</span>`
                    }
                  </td>
                </tr>`,
            )}
          <//>
        </div>`
    }`;
}

/** Change triggers: create, enable or disable, delete; `#/triggers/<id>` shows one trigger's runs. */
export const triggersPage = (id?: string) => mountView(id ? html`<${TriggerRuns} id=${id} />` : html`<${Triggers} />`);
