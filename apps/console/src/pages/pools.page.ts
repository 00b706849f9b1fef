import { api } from '../api.js';
import { badge, confirmAction, h, mount, table, ticker, time, when } from '../dom.js';
import { realtime } from '../realtime.js';

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

/**
 * Pools with their environments, who holds each lease and until when; create pools, add
 * and retire environments, release leases. `#/pools/<name>` shows one pool. Every resource
 * event re-reads what it shows, so the page is always current.
 */
export function poolsPage(only?: string): () => void {
  const body = h('div');
  const message = h('span.error');
  /** Leases by id: learned from allocation events and fetched once for environments allocated before the page opened. */
  const allocations = new Map<string, Allocation>();
  let loading: Promise<void> | undefined;
  let again = false;

  const act = async (work: () => Promise<unknown>) => {
    message.textContent = '';
    try {
      await work();
    } catch (failure) {
      message.textContent = (failure as Error).message;
    }
  };

  const environmentRow = (pool: Pool, environment: Environment) => {
    const lease = environment.allocationId ? allocations.get(environment.allocationId) : undefined;
    return h(
      'tr',
      { dataset: { environment: environment.name, status: environment.status } },
      h('td', {}, environment.name),
      h('td', {}, badge(environment.status)),
      h('td', { dataset: { holder: '' } }, lease?.holder ?? (environment.allocationId ? '…' : '')),
      h('td.muted', { dataset: { expires: '' } }, lease ? h('span', { title: time(lease.expiresAt) }, when(lease.expiresAt)) : ''),
      h(
        'td',
        {},
        environment.status === 'allocated' && environment.allocationId
          ? h(
              'button.secondary.small',
              {
                type: 'button',
                dataset: { release: environment.name },
                onclick: () => void act(() => api('DELETE', `/v1/allocations/${environment.allocationId}`)),
              },
              'Release',
            )
          : environment.status === 'free'
            ? h(
                'button.secondary.small',
                {
                  type: 'button',
                  dataset: { retire: environment.name },
                  onclick: async () => {
                    if (await confirmAction(`Retire ${environment.name} of ${pool.name}? It will never be allocated again.`, 'Retire')) {
                      await act(() => api('DELETE', `/v1/pools/${pool.id}/environments/${environment.id}`));
                    }
                  },
                },
                'Retire',
              )
            : '',
      ),
    );
  };

  const poolSection = (pool: Pool, environments: Environment[]) => {
    const name = h('input', { placeholder: 'environment name', name: 'environment-name', size: 16 });
    return h(
      'div.panel',
      { dataset: { pool: pool.name } },
      h(
        'h2',
        {},
        h('a', { href: `#/pools/${encodeURIComponent(pool.name)}` }, pool.name),
        ' ',
        h('span.muted', {}, `${pool.kind} · ${pool.counts.free ?? 0} free, ${pool.counts.allocated ?? 0} allocated`),
      ),
      table(
        ['Environment', 'Status', 'Holder', 'Lease ends', ''],
        h('tbody', {}, ...environments.map((environment) => environmentRow(pool, environment))),
      ),
      h(
        'form.row.spaced',
        {
          onsubmit: (event: Event) => {
            event.preventDefault();
            void act(async () => {
              await api('POST', `/v1/pools/${pool.id}/environments`, { name: name.value });
              name.value = '';
            });
          },
        },
        name,
        h('button.secondary', { type: 'submit' }, 'Add environment'),
      ),
    );
  };

  async function load() {
    const pools = (await api<Pool[]>('GET', '/v1/pools')).filter((pool) => !only || pool.name === only || pool.id === only);
    const sections = await Promise.all(
      pools.map(async (pool) => {
        // The console shows the first page; a pool holds at most QUOTA_ENVIRONMENTS_PER_POOL.
        const { items } = await api<{ items: Environment[] }>('GET', `/v1/pools/${pool.id}/environments?limit=500`);
        const unknown = items.filter((environment) => environment.allocationId && !allocations.has(environment.allocationId));
        await Promise.all(
          unknown.map(async (environment) =>
            allocations.set(environment.allocationId!, await api('GET', `/v1/allocations/${environment.allocationId}`)),
          ),
        );
        return poolSection(
          pool,
          items.filter((environment) => environment.status !== 'retired'),
        );
      }),
    );
    body.replaceChildren(...(sections.length ? sections : [h('p.muted', {}, only ? `No pool ${only}.` : 'No pools yet.')]));
  }
  /** Re-reads the pools; changes that arrive during a read trigger one more read after it. */
  function reload() {
    if (loading) {
      again = true;
      return;
    }
    loading = load()
      .catch((failure: Error) => void (message.textContent = failure.message))
      .finally(() => {
        loading = undefined;
        if (again) {
          again = false;
          reload();
        }
      });
  }

  const poolName = h('input', { placeholder: 'pool name', name: 'pool-name', size: 16 });
  const poolKind = h('input', { placeholder: 'kind (e.g. sandbox)', name: 'pool-kind', size: 16 });
  const createPool = h(
    'form.row',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        void act(async () => {
          await api('POST', '/v1/pools', { name: poolName.value, kind: poolKind.value });
          poolName.value = '';
        });
      },
    },
    poolName,
    poolKind,
    h('button', { type: 'submit' }, 'Create pool'),
  );
  mount(
    h('h1', {}, only ? h('a', { href: '#/pools' }, 'Pools') : 'Pools', only ? ` / ${only}` : ''),
    h('div.panel', {}, only ? '' : createPool, message),
    body,
  );
  const unsubscribe = realtime.subscribe(
    { topic: 'resource' },
    () => reload(),
    (event) => {
      if (event.topic.startsWith('resource:allocation:')) allocations.set(event.data.id, event.data);
      reload();
    },
  );
  const stopTicker = ticker();
  return () => {
    unsubscribe();
    stopTicker();
  };
}
