import { api } from '../api.js';
import { confirmAction, time } from '../dom.js';
import { Badge, CopyButton, field, html, mountView, Table, useNotices, useRecords, When } from '../ui.js';

interface TokenEntry {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const loadTokens = () => api<TokenEntry[]>('GET', '/v1/tokens');

const stateOf = (token: TokenEntry) =>
  token.revokedAt ? 'REVOKED' : token.expiresAt && Date.parse(token.expiresAt) < Date.now() ? 'EXPIRED' : 'ACTIVE';

/** The org's API tokens (admin role): create one (its secret shown once, until dismissed), see when each was last used, revoke. */
function Tokens() {
  const { records: tokens = [], error, run } = useRecords(loadTokens);
  const [notices, notify] = useNotices();

  const create = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const expires = field(form, 'token-expires');
    void run(async () => {
      const created = await api('POST', '/v1/tokens', {
        name: field(form, 'token-name'),
        role: field(form, 'token-role'),
        ...(expires ? { expiresAt: new Date(`${expires}T00:00:00`).toISOString() } : {}),
      });
      notify(
        html`Token ${created.name} (${created.role}), shown only now — keep it safe:${' '}
          <code class="secret" data-secret=${created.name}>${created.token}</code> <${CopyButton} text=${created.token} />`,
      );
      form.reset();
    });
  };
  const revoke = async (token: TokenEntry) => {
    if (await confirmAction(`Revoke ${token.name}? Everything using it stops working at once.`, 'Revoke')) {
      await run(() => api('DELETE', `/v1/tokens/${token.id}`));
    }
  };

  return html`<h1>API tokens</h1>
    <div class="panel">
      <form class="row" onSubmit=${create}>
        <input placeholder="name, e.g. ci-pipeline" name="token-name" size="20" required />
        <select name="token-role">
          ${['viewer', 'member', 'admin'].map((role) => html`<option value=${role}>${role}</option>`)}
        </select>
        <label class="muted">expires <input type="date" name="token-expires" title="expires (optional)" /></label>
        <button type="submit">Create token</button>
      </form>
      <span class="error">${error}</span>
      ${notices}
    </div>
    <div class="panel">
      <${Table} titles=${['Name', 'Role', 'State', 'Last used', 'Created', 'Expires', '']} hideNarrow=${['Created', 'Expires']}>
        ${tokens.map(
          (token) =>
            html`<tr data-token=${token.name} key=${token.id}>
              <td>
                ${token.name}
                <div class="muted mono">${token.id}</div>
              </td>
              <td>${token.role}</td>
              <td><${Badge} status=${stateOf(token)} /></td>
              <td class="muted" data-last-used>${token.lastUsedAt ? html`<${When} at=${token.lastUsedAt} />` : 'never'}</td>
              <td class="muted hide-narrow">${time(token.createdAt)}</td>
              <td class="muted hide-narrow">${token.expiresAt ? time(token.expiresAt) : 'never'}</td>
              <td>
                ${
                  !token.revokedAt &&
                  html`<button class="danger small" type="button" data-revoke=${token.name} onClick=${() => revoke(token)}>Revoke</button>`
                }
              </td>
            </tr>`,
        )}
      <//>
    </div>`;
}

export const tokensPage = () => mountView(html`<${Tokens} />`);
