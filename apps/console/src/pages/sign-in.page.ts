import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { session, type Identity } from '../session.js';
import { field, html, mountView } from '../ui.js';

/** Sign in with an org API token (or session JWT) or the platform admin token. */
function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [error, setError] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    session.token = field(event.currentTarget as HTMLFormElement, 'token').trim();
    try {
      session.identity = await api<Identity>('GET', '/v1/me');
      onSignedIn();
    } catch (failure) {
      session.token = null;
      setError(failure instanceof ApiError && failure.status === 401 ? 'That token is not valid.' : String(failure));
    }
  };
  return html`<form class="panel" onSubmit=${submit}>
    <h1>Sign in</h1>
    <p class="muted">Paste an API token of your organization, or the platform admin token. It stays in this tab only.</p>
    <div class="row">
      <input type="password" placeholder="plat_org_… or plat_admin_…" size="60" autocomplete="off" name="token" ref=${input} />
      <button type="submit">Sign in</button>
    </div>
    <p class="error">${error}</p>
  </form>`;
}

export const signInPage = (onSignedIn: () => void) => mountView(html`<${SignIn} onSignedIn=${onSignedIn} />`);
