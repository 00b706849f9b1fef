import { api } from './api.js';
import { h } from './dom.js';
import { adminPage } from './pages/admin.page.js';
import { poolsPage } from './pages/pools.page.js';
import { signInPage } from './pages/sign-in.page.js';
import { taskPage } from './pages/task.page.js';
import { tasksPage } from './pages/tasks.page.js';
import { workersPage } from './pages/workers.page.js';
import { realtime } from './realtime.js';
import { session, type Identity } from './session.js';

let leave: () => void = () => undefined;

function navigation(identity: Identity): void {
  const links =
    identity.kind === 'platform-admin'
      ? [['#/admin', 'Organizations']]
      : [
          ['#/tasks', 'Tasks'],
          ['#/workers', 'Workers'],
          ['#/pools', 'Pools'],
        ];
  document
    .getElementById('nav')!
    .replaceChildren(...links.map(([href, label]) => h('a', { href, className: location.hash.startsWith(href!) ? 'active' : '' }, label!)));
  document
    .getElementById('who')!
    .replaceChildren(
      identity.kind === 'platform-admin' ? 'platform admin' : `${identity.org!.slug} · ${identity.role}`,
      ' ',
      h('a', { href: '#/sign-out' }, 'sign out'),
    );
}

async function route(): Promise<void> {
  leave();
  leave = () => undefined;
  if (location.hash === '#/sign-out') {
    session.token = null;
    session.identity = undefined;
  }
  if (!session.token) {
    document.getElementById('nav')!.replaceChildren();
    document.getElementById('who')!.replaceChildren();
    signInPage(() => {
      realtime.connect(session.token!);
      location.hash = session.identity!.kind === 'platform-admin' ? '#/admin' : '#/tasks';
      void route();
    });
    return;
  }
  if (!session.identity) {
    session.identity = await api<Identity>('GET', '/v1/me');
    realtime.connect(session.token);
  }
  const identity = session.identity;
  const [, page, id] = location.hash.split('/');
  if (identity.kind === 'platform-admin') {
    if (page !== 'admin') return void (location.hash = '#/admin');
  } else if (!['tasks', 'workers', 'pools'].includes(page ?? '')) {
    return void (location.hash = '#/tasks');
  }
  navigation(identity);
  leave =
    page === 'admin' ? adminPage() : page === 'workers' ? workersPage() : page === 'pools' ? poolsPage() : id ? taskPage(id) : tasksPage();
}

window.addEventListener('hashchange', () => void route());
void route();
