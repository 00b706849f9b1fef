import { api } from '../api.js';
import { badge, h, mount, time } from '../dom.js';
import { realtime } from '../realtime.js';

interface OrgEntry {
  org: { id: string; slug: string; name: string };
  instance: {
    status: string;
    schemaVersion: string | null;
    updatedAt: string;
    error?: string;
    /** Whether the org's database changes are being relayed (absent for an external realtime source). */
    realtime?: { state: string; lagBytes: number | null; retainedBytes?: number; error?: string };
  };
}

/** The relay's state, its lag and, where it is stuck, why: an org that publishes tables but gets no changes shows here. */
const relayCell = (realtime: OrgEntry['instance']['realtime']) => {
  if (!realtime) return '—';
  const lag = realtime.lagBytes ? ` ${Math.round(realtime.lagBytes / 1024)} KiB behind` : '';
  return h('span', { dataset: { realtime: realtime.state }, title: realtime.error ?? '' }, badge(realtime.state), lag);
};

/** Org instances for the platform admin, live as they move through provisioning; create and deprovision. */
export function adminPage(): () => void {
  const rows = h('tbody');
  const orgs = new Map<string, OrgEntry>();
  const slug = h('input', { placeholder: 'slug', name: 'slug' });
  const name = h('input', { placeholder: 'name', name: 'name' });
  const message = h('span.muted');
  const render = () =>
    rows.replaceChildren(
      ...[...orgs.values()].map(({ org, instance }) =>
        h(
          'tr',
          { dataset: { slug: org.slug } },
          h('td', {}, org.slug),
          h('td', {}, org.name),
          h('td', {}, badge(instance.status)),
          h('td', {}, instance.schemaVersion ?? '—'),
          h('td', {}, relayCell(instance.realtime)),
          h('td.muted', {}, time(instance.updatedAt)),
          h('td.error', {}, instance.error ?? ''),
          h(
            'td',
            {},
            instance.status === 'DELETED'
              ? ''
              : h('button.danger', { onclick: () => void api('DELETE', `/v1/admin/orgs/${org.slug}`) }, 'Deprovision'),
          ),
        ),
      ),
    );
  const form = h(
    'form.row',
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          const created = await api('POST', '/v1/admin/orgs', { slug: slug.value, name: name.value });
          message.textContent = `Created ${created.org.slug}. Its first admin token, shown once: ${created.token}`;
        } catch (failure) {
          message.textContent = (failure as Error).message;
        }
      },
    },
    slug,
    name,
    h('button', { type: 'submit' }, 'Create organization'),
  );
  mount(
    h('h1', {}, 'Organizations'),
    h('div.panel', {}, form, message),
    h(
      'div.panel',
      {},
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h('tr', {}, ...['Slug', 'Name', 'Status', 'Schema', 'Realtime', 'Updated', 'Error', ''].map((title) => h('th', {}, title))),
        ),
        rows,
      ),
    ),
  );
  return realtime.subscribe(
    { topic: 'orgs' },
    (snapshot: OrgEntry[]) => {
      orgs.clear();
      for (const entry of snapshot) orgs.set(entry.org.id, entry);
      render();
    },
    (event) => {
      orgs.set(event.data.org.id, event.data);
      render();
    },
  );
}
