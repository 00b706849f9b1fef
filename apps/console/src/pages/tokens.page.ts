import { api } from '../api.js';
import { badge, confirmAction, copyButton, h, mount, notice, table, ticker, time, when } from '../dom.js';

interface TokenEntry {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** The org's API tokens (admin role): create one (its secret shown once, until dismissed), see when each was last used, revoke. */
export function tokensPage(): () => void {
  const rows = h('tbody');
  const notices = h('div');
  const message = h('span.error');
  const name = h('input', { placeholder: 'name, e.g. ci-pipeline', name: 'token-name', size: 20, required: true });
  const role = h('select', { name: 'token-role' }, ...['viewer', 'member', 'admin'].map((value) => h('option', { value }, value)));
  const expires = h('input', { type: 'date', name: 'token-expires', title: 'expires (optional)' });

  async function load() {
    const tokens = await api<TokenEntry[]>('GET', '/v1/tokens');
    rows.replaceChildren(
      ...tokens.map((token) =>
        h(
          'tr',
          { dataset: { token: token.name } },
          h('td', {}, token.name, h('div.muted.mono', {}, token.id)),
          h('td', {}, token.role),
          h(
            'td',
            {},
            token.revokedAt
              ? badge('REVOKED')
              : token.expiresAt && Date.parse(token.expiresAt) < Date.now()
                ? badge('EXPIRED')
                : badge('ACTIVE'),
          ),
          h('td.muted', { dataset: { lastUsed: '' } }, token.lastUsedAt ? when(token.lastUsedAt) : 'never'),
          h('td.muted.hide-narrow', {}, time(token.createdAt)),
          h('td.muted.hide-narrow', {}, token.expiresAt ? time(token.expiresAt) : 'never'),
          h(
            'td',
            {},
            token.revokedAt
              ? ''
              : h(
                  'button.danger.small',
                  {
                    type: 'button',
                    dataset: { revoke: token.name },
                    onclick: async () => {
                      if (!(await confirmAction(`Revoke ${token.name}? Everything using it stops working at once.`, 'Revoke'))) return;
                      await act(() => api('DELETE', `/v1/tokens/${token.id}`));
                    },
                  },
                  'Revoke',
                ),
          ),
        ),
      ),
    );
  }
  const act = async (work: () => Promise<unknown>) => {
    message.textContent = '';
    try {
      await work();
    } catch (failure) {
      message.textContent = (failure as Error).message;
    }
    await load();
  };

  const form = h(
    'form.row',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        void act(async () => {
          const created = await api('POST', '/v1/tokens', {
            name: name.value,
            role: role.value,
            ...(expires.value ? { expiresAt: new Date(`${expires.value}T00:00:00`).toISOString() } : {}),
          });
          notices.prepend(
            notice(
              `Token ${created.name} (${created.role}), shown only now — keep it safe: `,
              h('code.secret', { dataset: { secret: created.name } }, created.token),
              ' ',
              copyButton(created.token),
            ),
          );
          name.value = '';
        });
      },
    },
    name,
    role,
    h('label.muted', {}, 'expires ', expires),
    h('button', { type: 'submit' }, 'Create token'),
  );
  mount(
    h('h1', {}, 'API tokens'),
    h('div.panel', {}, form, message, notices),
    h('div.panel', {}, table(['Name', 'Role', 'State', 'Last used', 'Created', 'Expires', ''], rows, ['Created', 'Expires'])),
  );
  void load().catch((failure: Error) => (message.textContent = failure.message));
  return ticker();
}
