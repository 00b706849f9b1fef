import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { confirmAction, time } from '../dom.js';
import { realtime } from '../realtime.js';
import { Badge, CopyButton, field, html, mountView, Table, useNotices } from '../ui.js';

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
const RelayCell = ({ relay }: { relay: OrgEntry['instance']['realtime'] }) =>
  relay
    ? html`<span data-realtime=${relay.state} title=${relay.error ?? ''}>
        <${Badge} status=${relay.state} />${relay.lagBytes ? ` ${Math.round(relay.lagBytes / 1024)} KiB behind` : ''}
      </span>`
    : '—';

/**
 * Org instances for the platform admin, live as they move through provisioning; create (the
 * first token stays on screen until dismissed) and deprovision (after a confirmation naming
 * the org). `#/admin/<slug>` marks one org.
 */
function Organizations({ selected }: { selected?: string }) {
  const [orgs, setOrgs] = useState(new Map<string, OrgEntry>());
  const [error, setError] = useState('');
  const [notices, notify] = useNotices();
  useEffect(
    () =>
      realtime.subscribe(
        { topic: 'orgs' },
        (snapshot: OrgEntry[]) => setOrgs(new Map(snapshot.map((entry) => [entry.org.id, entry]))),
        (event) => setOrgs((current) => new Map(current).set(event.data.org.id, event.data)),
      ),
    [],
  );

  const create = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    setError('');
    try {
      const created = await api('POST', '/v1/admin/orgs', { slug: field(form, 'slug'), name: field(form, 'name') });
      // Shown once by the API: it stays on screen, whatever happens next, until dismissed.
      notify(
        html`Created ${created.org.slug}. Its first admin token, shown only now — keep it safe:${' '}
          <code class="secret" data-token=${created.org.slug}>${created.token}</code> <${CopyButton} text=${created.token} />`,
      );
      form.reset();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const deprovision = async (slug: string) => {
    const sure = await confirmAction(
      `Deprovision ${slug}? Its database and everything in it will be deleted. This cannot be undone.`,
      `Delete ${slug}`,
    );
    if (!sure) return;
    try {
      await api('DELETE', `/v1/admin/orgs/${slug}`);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  return html`<h1>Organizations</h1>
    <div class="panel">
      <form class="row" onSubmit=${create}>
        <input placeholder="slug" name="slug" />
        <input placeholder="name" name="name" />
        <button type="submit">Create organization</button>
      </form>
      <span class="error">${error}</span>
      ${notices}
    </div>
    <div class="panel">
      <${Table} titles=${['Slug', 'Name', 'Status', 'Schema', 'Realtime', 'Updated', 'Error', '']}>
        ${[...orgs.values()].map(
          ({ org, instance }) =>
            html`<tr class=${org.slug === selected ? 'selected' : ''} data-slug=${org.slug} key=${org.id}>
              <td><a href=${`#/admin/${encodeURIComponent(org.slug)}`}>${org.slug}</a></td>
              <td>${org.name}</td>
              <td><${Badge} status=${instance.status} /></td>
              <td>${instance.schemaVersion ?? '—'}</td>
              <td><${RelayCell} relay=${instance.realtime} /></td>
              <td class="muted">${time(instance.updatedAt)}</td>
              <td class="error">${instance.error ?? ''}</td>
              <td>
                ${
                  instance.status !== 'DELETED' &&
                  html`<button class="danger small" type="button" data-deprovision=${org.slug} onClick=${() => deprovision(org.slug)}>
                    Deprovision
                  </button>`
                }
              </td>
            </tr>`,
        )}
      <//>
    </div>`;
}

export const adminPage = (selected?: string) => mountView(html`<${Organizations} selected=${selected} />`);
