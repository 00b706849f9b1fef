import { api, ApiError } from '../api.js';
import { h, mount } from '../dom.js';
import { session, type Identity } from '../session.js';

/** Sign in with an org API token (or session JWT) or the platform admin token. */
export function signInPage(onSignedIn: () => void): void {
  const token = h('input', { type: 'password', placeholder: 'plat_org_… or plat_admin_…', size: 60, autocomplete: 'off', name: 'token' });
  const error = h('p.error');
  const form = h(
    'form.panel',
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        session.token = token.value.trim();
        try {
          session.identity = await api<Identity>('GET', '/v1/me');
          onSignedIn();
        } catch (failure) {
          session.token = null;
          error.textContent = failure instanceof ApiError && failure.status === 401 ? 'That token is not valid.' : String(failure);
        }
      },
    },
    h('h1', {}, 'Sign in'),
    h('p.muted', {}, 'Paste an API token of your organization, or the platform admin token. It stays in this tab only.'),
    h('div.row', {}, token, h('button', { type: 'submit' }, 'Sign in')),
    error,
  );
  mount(form);
  token.focus();
}
