import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { confirmAction, time } from '../dom.js';
import { realtime } from '../realtime.js';
import { Badge, field, html, mountView, Table, When } from '../ui.js';

interface Pool {
  id: string;
  name: string;
  kind: string;
  counts: Record<string, number>;
}
interface Environment {
  id: string;
  name: string;
  status: string;
  allocationId?: string;
}
interface Allocation {
  id: string;
  holder: string;
  expiresAt: string;
  status: string;
}
type Run = (work: () => Promise<unknown>) => Promise<void>;

function EnvironmentRow({ pool, environment, lease, run }: { pool: Pool; environment: Environment; lease?: Allocation; run: Run }) {
  const retire = async () => {
    if (await confirmAction(`Retire ${environment.name} of ${pool.name}? It will never be allocated again.`, 'Retire')) {
      await run(() => api('DELETE', `/v1/pools/${pool.id}/environments/${environment.id}`));
    }
  };
  return html`<tr data-environment=${environment.name} data-status=${environment.status}>
    <td>${environment.name}</td>
    <td><${Badge} status=${environment.status} /></td>
    <td data-holder>${lease?.holder ?? (environment.allocationId ? '…' : '')}</td>
    <td class="muted" data-expires>${lease && html`<span title=${time(lease.expiresAt)}><${When} at=${lease.expiresAt} /></span>`}</td>
    <td>
      ${
        environment.status === 'allocated' && environment.allocationId
          ? html`<button
              class="secondary small"
              type="button"
              data-release=${environment.name}
              onClick=${() => run(() => api('DELETE', `/v1/allocations/${environment.allocationId}`))}
            >
              Release
            </button>`
          : environment.status === 'free' &&
            html`<button class="secondary small" type="button" data-retire=${environment.name} onClick=${retire}>Retire</button>`
      }
    </td>
  </tr>`;
}

function PoolSection({
  pool,
  environments,
  leases,
  run,
}: {
  pool: Pool;
  environments: Environment[];
  leases: Map<string, Allocation>;
  run: Run;
}) {
  const add = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    void run(async () => {
      await api('POST', `/v1/pools/${pool.id}/environments`, { name: field(form, 'environment-name') });
      form.reset();
    });
  };
  return html`<div class="panel" data-pool=${pool.name}>
    <h2>
      <a href=${`#/pools/${encodeURIComponent(pool.name)}`}>${pool.name}</a>${' '}
      <span class="muted">${pool.kind} · ${pool.counts.free ?? 0} free, ${pool.counts.allocated ?? 0} allocated</span>
    </h2>
    <${Table} titles=${['Environment', 'Status', 'Holder', 'Lease ends', '']}>
      ${environments.map(
        (environment) =>
          html`<${EnvironmentRow}
            key=${environment.id}
            pool=${pool}
            environment=${environment}
            lease=${environment.allocationId ? leases.get(environment.allocationId) : undefined}
            run=${run}
          />`,
      )}
    <//>
    <form class="row spaced" onSubmit=${add}>
      <input placeholder="environment name" name="environment-name" size="16" />
      <button class="secondary" type="submit">Add environment</button>
    </form>
  </div>`;
}

/**
 * Pools with their environments, who holds each lease and until when; create pools, add
 * and retire environments, release leases. `#/pools/<name>` shows one pool. Every resource
 * event re-reads what it shows, so the page is always current.
 */
function Pools({ only }: { only?: string }) {
  const [sections, setSections] = useState<{ pool: Pool; environments: Environment[] }[] | undefined>(undefined);
  /** Leases by id: learned from allocation events, and read once for environments allocated before the page opened. */
  const [leases] = useState(() => new Map<string, Allocation>());
  const [error, setError] = useState('');
  const [reload, setReload] = useState<() => void>(() => () => undefined);

  useEffect(() => {
    let loading: Promise<void> | undefined;
    let again = false;
    let open = true;
    async function load() {
      const pools = (await api<Pool[]>('GET', '/v1/pools')).filter((pool) => !only || pool.name === only || pool.id === only);
      const read = await Promise.all(
        pools.map(async (pool) => {
          // The console shows the first page; a pool holds at most QUOTA_ENVIRONMENTS_PER_POOL.
          const { items } = await api<{ items: Environment[] }>('GET', `/v1/pools/${pool.id}/environments?limit=500`);
          const unknown = items.filter((environment) => environment.allocationId && !leases.has(environment.allocationId));
          await Promise.all(
            unknown.map(async ({ allocationId }) => leases.set(allocationId!, await api('GET', `/v1/allocations/${allocationId}`))),
          );
          return { pool, environments: items.filter((environment) => environment.status !== 'retired') };
        }),
      );
      if (open) setSections(read);
    }
    /** Re-reads the pools; changes that arrive during a read make one more read after it. */
    const reread = () => {
      if (loading) return void (again = true);
      loading = load()
        .catch((failure: Error) => setError(failure.message))
        .finally(() => {
          loading = undefined;
          if (again) {
            again = false;
            reread();
          }
        });
    };
    setReload(() => reread);
    const unsubscribe = realtime.subscribe({ topic: 'resource' }, reread, (event) => {
      if (event.topic.startsWith('resource:allocation:')) leases.set(event.data.id, event.data);
      reread();
    });
    return () => {
      open = false;
      unsubscribe();
    };
  }, [only]);

  const run: Run = async (work) => {
    setError('');
    try {
      await work();
    } catch (failure) {
      setError((failure as Error).message);
    }
    reload();
  };
  const create = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    void run(async () => {
      await api('POST', '/v1/pools', { name: field(form, 'pool-name'), kind: field(form, 'pool-kind') });
      form.reset();
    });
  };
  return html`<h1>${only ? html`<a href="#/pools">Pools</a> / ${only}` : 'Pools'}</h1>
    <div class="panel">
      ${
        !only &&
        html`<form class="row" onSubmit=${create}>
          <input placeholder="pool name" name="pool-name" size="16" />
          <input placeholder="kind (e.g. sandbox)" name="pool-kind" size="16" />
          <button type="submit">Create pool</button>
        </form>`
      }
      <span class="error">${error}</span>
    </div>
    ${sections?.map(
      ({ pool, environments }) =>
        html`<${PoolSection} key=${pool.id} pool=${pool} environments=${environments} leases=${leases} run=${run} />`,
    )}
    ${sections?.length === 0 && html`<p class="muted">${only ? `No pool ${only}.` : 'No pools yet.'}</p>`}`;
}

export const poolsPage = (only?: string) => mountView(html`<${Pools} only=${only} />`);
