import { api } from '../api.js';
import { badge, confirmAction, copyButton, h, mount, notice, table, time } from '../dom.js';
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

/**
 * Org instances for the platform admin, live as they move through provisioning; create and
 * deprovision (after a confirmation naming the org). `#/admin/<slug>` marks one org.
 */
export function adminPage(selected?: string): () => void {
  const rows = h('tbody');
  const orgs = new Map<string, OrgEntry>();
  const slug = h('input', { placeholder: 'slug', name: 'slug' });
  const name = h('input', { placeholder: 'name', name: 'name' });
  const message = h('span.error');
  const notices = h('div');
  const render = () =>
    rows.replaceChildren(
      ...[...orgs.values()].map(({ org, instance }) =>
        h(
          `tr${org.slug === selected ? '.selected' : ''}`,
          { dataset: { slug: org.slug } },
          h('td', {}, h('a', { href: `#/admin/${encodeURIComponent(org.slug)}` }, org.slug)),
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
              : h(
                  'button.danger.small',
                  {
                    type: 'button',
                    dataset: { deprovision: org.slug },
                    onclick: async () => {
                      const sure = await confirmAction(
                        `Deprovision ${org.slug}? Its database and everything in it will be deleted. This cannot be undone.`,
                        `Delete ${org.slug}`,
                      );
                      if (!sure) return;
                      try {
                        await api('DELETE', `/v1/admin/orgs/${org.slug}`);
                      } catch (failure) {
                        message.textContent = (failure as Error).message;
                      }
                    },
                  },
                  'Deprovision',
                ),
          ),
        ),
      ),
    );
  const form = h(
    'form.row',
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        message.textContent = '';
        try {
          const created = await api('POST', '/v1/admin/orgs', { slug: slug.value, name: name.value });
          // Shown once by the API: it stays on screen, whatever happens next, until dismissed.
          notices.prepend(
            notice(
              `Created ${created.org.slug}. Its first admin token, shown only now — keep it safe: `,
              h('code.secret', { dataset: { token: created.org.slug } }, created.token),
              ' ',
              copyButton(created.token),
            ),
          );
          slug.value = '';
          name.value = '';
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
    h('div.panel', {}, form, message, notices),
    h('div.panel', {}, table(['Slug', 'Name', 'Status', 'Schema', 'Realtime', 'Updated', 'Error', ''], rows)),
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
