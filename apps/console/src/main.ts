import { api } from './api.js';
import { h } from './dom.js';
import { adminPage } from './pages/admin.page.js';
import { overviewPage } from './pages/overview.page.js';
import { poolsPage } from './pages/pools.page.js';
import { schedulesPage } from './pages/schedules.page.js';
import { signInPage } from './pages/sign-in.page.js';
import { taskPage } from './pages/task.page.js';
import { tasksPage } from './pages/tasks.page.js';
import { tokensPage } from './pages/tokens.page.js';
import { triggersPage } from './pages/triggers.page.js';
import { webhooksPage } from './pages/webhooks.page.js';
import { workersPage } from './pages/workers.page.js';
import { realtime } from './realtime.js';
import { session, type Identity } from './session.js';

/** Where a signed-out visitor was headed: the sign-in takes them there, not to the start page. */
const INTENDED_KEY = 'platform.console.intended';

type Page = (id: string | undefined, query: URLSearchParams) => () => void;

const ORG_PAGES: Record<string, { label: string; page: Page; adminOnly?: boolean }> = {
  overview: { label: 'Overview', page: () => overviewPage() },
  tasks: { label: 'Tasks', page: (id, query) => (id ? taskPage(id) : tasksPage(query)) },
  workers: { label: 'Workers', page: () => workersPage() },
  pools: { label: 'Pools', page: (id) => poolsPage(id) },
  schedules: { label: 'Schedules', page: (id) => schedulesPage(id) },
  triggers: { label: 'Triggers', page: (id) => triggersPage(id) },
  webhooks: { label: 'Webhooks', page: (id) => webhooksPage(id) },
  tokens: { label: 'API tokens', page: () => tokensPage(), adminOnly: true },
};

let leave: () => void = () => undefined;

function navigation(identity: Identity, current: string): void {
  const links =
    identity.kind === 'platform-admin'
      ? [['admin', 'Organizations']]
      : Object.entries(ORG_PAGES)
          .filter(([, entry]) => !entry.adminOnly || identity.role === 'admin')
          .map(([name, entry]) => [name, entry.label]);
  document
    .getElementById('nav')!
    .replaceChildren(...links.map(([name, label]) => h('a', { href: `#/${name}`, className: name === current ? 'active' : '' }, label!)));
  document
    .getElementById('who')!
    .replaceChildren(
      identity.kind === 'platform-admin' ? 'platform admin' : `${identity.org!.slug} · ${identity.role}`,
      ' ',
      h('a', { href: '#/sign-out' }, 'sign out'),
    );
}

/** `#/tasks/<id>?status=FAILED` → page `tasks`, id, query. */
function parseHash(hash: string): { page: string; id: string | undefined; query: URLSearchParams } {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const [page = '', id] = path.split('/').map(decodeURIComponent);
  return { page, id: id || undefined, query: new URLSearchParams(search) };
}

async function route(): Promise<void> {
  leave();
  leave = () => undefined;
  if (location.hash === '#/sign-out') {
    session.token = null;
    session.identity = undefined;
    sessionStorage.removeItem(INTENDED_KEY);
  }
  if (!session.token) {
    if (location.hash && location.hash !== '#/sign-out') sessionStorage.setItem(INTENDED_KEY, location.hash);
    document.getElementById('nav')!.replaceChildren();
    document.getElementById('who')!.replaceChildren();
    leave = signInPage(() => {
      realtime.connect(session.token!);
      const intended = sessionStorage.getItem(INTENDED_KEY);
      sessionStorage.removeItem(INTENDED_KEY);
      const target = intended ?? (session.identity!.kind === 'platform-admin' ? '#/admin' : '#/tasks');
      if (location.hash === target) void route();
      else location.hash = target;
    });
    return;
  }
  if (!session.identity) {
    session.identity = await api<Identity>('GET', '/v1/me');
    realtime.connect(session.token);
  }
  const identity = session.identity;
  const { page, id, query } = parseHash(location.hash);
  if (identity.kind === 'platform-admin') {
    if (page !== 'admin') return void (location.hash = '#/admin');
    navigation(identity, page);
    leave = adminPage(id);
    return;
  }
  const entry = ORG_PAGES[page];
  if (!entry || (entry.adminOnly && identity.role !== 'admin')) return void (location.hash = '#/tasks');
  navigation(identity, page);
  leave = entry.page(id, query);
}

// `/` focuses the page's search box, as on most sites; typed into a field, it is just a slash.
window.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target as HTMLElement;
  if (target.closest('input, textarea, select, [contenteditable=true]')) return;
  const search = document.querySelector<HTMLInputElement>('[data-search]');
  if (!search) return;
  event.preventDefault();
  search.focus();
  search.select();
});

window.addEventListener('hashchange', () => void route());
void route();
