import { api } from '../api.js';
import { badge, h, mount } from '../dom.js';
import { realtime } from '../realtime.js';

/** Pools with their environments, status and lease holders, refreshed by every resource event. */
export function poolsPage(): () => void {
  const body = h('div');
  async function load() {
    const pools: any[] = await api('GET', '/v1/pools');
    const sections = await Promise.all(
      pools.map(async (pool) => {
        // The console shows the first page; a pool holds at most QUOTA_ENVIRONMENTS_PER_POOL.
        const { items: environments }: { items: any[] } = await api('GET', `/v1/pools/${pool.id}/environments?limit=500`);
        return h(
          'div.panel',
          { dataset: { pool: pool.name } },
          h('h2', {}, `${pool.name} `, h('span.muted', {}, `${pool.kind} · ${pool.counts.free} free, ${pool.counts.allocated} allocated`)),
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['Environment', 'Status', 'Holder'].map((title) => h('th', {}, title)))),
            h(
              'tbody',
              {},
              ...environments.map((environment) =>
                h(
                  'tr',
                  {},
                  h('td', {}, environment.name),
                  h('td', {}, badge(environment.status)),
                  h('td', {}, environment.holder ?? environment.allocation?.holder ?? ''),
                ),
              ),
            ),
          ),
        );
      }),
    );
    body.replaceChildren(...(sections.length ? sections : [h('p.muted', {}, 'No pools yet.')]));
  }
  mount(h('h1', {}, 'Pools'), body);
  void load();
  return realtime.subscribe(
    { topic: 'resource' },
    () => undefined,
    () => void load(),
  );
}
