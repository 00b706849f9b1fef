import { api } from '../api.js';
import { badge, h, mount, time } from '../dom.js';

/** Org instances for the platform admin: status, schema version; create and deprovision. */
export function adminPage(): () => void {
  const rows = h('tbody');
  const slug = h('input', { placeholder: 'slug', name: 'slug' });
  const name = h('input', { placeholder: 'name', name: 'name' });
  const message = h('span.muted');
  async function load() {
    const orgs: any[] = await api('GET', '/v1/admin/orgs');
    rows.replaceChildren(
      ...orgs.map(({ org, instance }) =>
        h(
          'tr',
          { dataset: { slug: org.slug } },
          h('td', {}, org.slug),
          h('td', {}, org.name),
          h('td', {}, badge(instance.status)),
          h('td', {}, instance.schemaVersion ?? '—'),
          h('td.muted', {}, time(instance.updatedAt)),
          h('td.error', {}, instance.error ?? ''),
          h(
            'td',
            {},
            instance.status === 'DELETED'
              ? ''
              : h('button.danger', { onclick: async () => (await api('DELETE', `/v1/admin/orgs/${org.slug}`), load()) }, 'Deprovision'),
          ),
        ),
      ),
    );
  }
  const form = h(
    'form.row',
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          const created = await api('POST', '/v1/admin/orgs', { slug: slug.value, name: name.value });
          message.textContent = `Created. Its first admin token, shown once: ${created.token}`;
          await load();
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
      h('div.row', {}, h('button.secondary', { onclick: () => void load() }, 'Refresh')),
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...['Slug', 'Name', 'Status', 'Schema', 'Updated', 'Error', ''].map((title) => h('th', {}, title)))),
        rows,
      ),
    ),
  );
  void load();
  return () => undefined;
}
