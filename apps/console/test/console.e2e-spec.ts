import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { fromProjectRoot } from '#libs/config';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { waitFor } from '#libs/testing';
import { startTestPlatform, TEST_ADMIN_TOKEN, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

const SCREENSHOTS = fromProjectRoot('artifacts/screenshots');
/** Flags for a headless Chromium on a machine with no network beyond loopback, running as root. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SHELL_SCRIPT = 'for i in 1 2 3 4 5 6; do echo "line-$i"; echo "oops-$i error" >&2; sleep 0.4; done; echo finished';
const WEBHOOK_SECRET = 'console-webhook-secret-0123456789';

describe('operator console (headless Chromium, real API, worker and realtime)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let browser: Browser;
  let receiver: Server;
  let receiverUrl: string;
  /** Errors thrown in any page and not caught there: every test ends with none. */
  const uncaught: string[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    platform = await startTestPlatform({
      env: {
        TASK_SHELL_ALLOW: 'sh,seq',
        OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32',
        TASK_CONCURRENCY: '8',
        REALTIME_RELAY_POLL_MS: '200',
        TOKEN_LAST_USED_FLUSH_MS: '200',
      },
    });
    org = await platform.createOrg('console-demo');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await platform?.close();
    await new Promise((resolve) => receiver.close(resolve));
  });
  afterEach(() => {
    expect(uncaught).toEqual([]);
    uncaught.length = 0;
  });

  /** A page signed in with `token` at `at`; with `reads`, every API path it requests from the start is pushed there. */
  async function signedIn(token: string, at = '', reads?: string[]): Promise<Page> {
    const page = await browser.newPage({ viewport: DESKTOP, acceptDownloads: true });
    page.on('pageerror', (error) => uncaught.push(error.message));
    if (reads) page.on('request', (request) => request.url().includes('/v1/') && reads.push(new URL(request.url()).pathname));
    await page.goto(`${platform.baseUrl}/console/${at}`);
    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('#who a');
    return page;
  }

  /** How far the page reaches past the right edge of the window, in px (0 when nothing overflows sideways). */
  const overflow = (page: Page) => page.evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`);

  /** Screenshots the page on a desktop and on a 390 px phone, where nothing may stick out sideways. */
  async function screenshots(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForFunction(`document.documentElement.clientWidth === ${PHONE.width}`);
    expect({ page: name, overflow: await overflow(page) }).toEqual({ page: name, overflow: 0 });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(DESKTOP);
  }

  const createTask = async (body: unknown, token = org.token) => (await platform.request('POST', '/v1/tasks', { token, body })).body;

  it('runs a shell task and shows its log live: filter to STDERR, search, then SUCCESS without a reload', async () => {
    const page = await browser.newPage({ viewport: DESKTOP });
    page.on('pageerror', (error) => uncaught.push(error.message));
    await page.goto(`${platform.baseUrl}/console/`);
    await screenshots(page, 'sign-in');
    await page.fill('input[name=token]', org.token);
    await page.click('button[type=submit]');
    await page.waitForSelector('#who a');
    expect(await page.textContent('#who')).toContain('console-demo · admin');
    await page.waitForSelector('h1:text("Tasks")');

    await page.selectOption('select[name=new-type]', 'shell');
    await page.fill('textarea[name=new-params]', JSON.stringify({ command: 'sh', args: ['-c', SHELL_SCRIPT] }));
    await page.click('form button[type=submit]');
    await page.waitForURL(/#\/tasks\/[0-9a-f-]{36}$/);

    // Output arrives while the task still runs.
    await page.waitForSelector('.logs .line:has-text("line-1")');
    expect(await page.textContent('[data-fact=status]')).not.toContain('SUCCESS');

    await page.click('button.chip[data-stream=STDERR]');
    // Runs in the page: every rendered log line is a STDERR one.
    await page.waitForFunction(
      `[...document.querySelectorAll('.logs .line .text')].length > 0 && [...document.querySelectorAll('.logs .line .text')].every((line) => line.textContent.startsWith('oops-'))`,
    );
    await expect(page.locator('.logs .line.error-line').count()).resolves.toBeGreaterThan(0);

    await page.fill('input[name=log-search]', 'oops-1');
    await page.waitForSelector('.logs mark:text("oops-1")');

    await page.waitForSelector('[data-fact=status] [data-status=SUCCESS]', { timeout: 30_000 });
    await page.click('button.chip[data-stream=ALL]');
    await page.waitForSelector('.logs .line:has-text("finished")');
    // The timeline shows the one attempt, how long it waited and ran.
    expect(await page.textContent('tr[data-attempt="1"] [data-ran]')).toMatch(/^\d+(\.\d)? s$/);
    await screenshots(page, 'task');
    await page.close();
  });

  it('lists 50 tasks that change while the list opens, each ending with its true status, without a reload', async () => {
    const busy = await platform.createOrg('console-busy');
    const page = await browser.newPage({ viewport: DESKTOP });
    page.on('pageerror', (error) => uncaught.push(error.message));
    await page.goto(`${platform.baseUrl}/console/`);
    await page.fill('input[name=token]', busy.token);
    // Sign in (which opens the list) while 50 tasks are being created and run: some fail, some are retried.
    const creating = Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        createTask(
          index % 5 === 0
            ? { type: 'shell', params: { command: 'sh', args: ['-c', 'exit 3'] } }
            : { type: 'sleep', params: { ms: 50 + ((index * 37) % 400) } },
          busy.token,
        ),
      ),
    );
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:text("Tasks")');
    await page.evaluate(`window.notReloaded = true`);
    const created = await creating;
    await platform.waitForQueuesDrained(60_000);
    const truth = (await platform.request('GET', '/v1/tasks?limit=50', { token: busy.token })).body.items as {
      id: string;
      status: string;
    }[];
    expect(truth).toHaveLength(50);
    expect(new Set(truth.map((task) => task.status))).toEqual(new Set(['SUCCESS', 'FAILED']));
    const expected = Object.fromEntries(truth.map((task) => [task.id, task.status]));
    // Runs in the page: every row shows the status the API gives once everything has finished.
    await page.waitForFunction(
      `(() => { const expected = ${JSON.stringify(expected)};
        const rows = [...document.querySelectorAll('tbody tr[data-id]')];
        return rows.length === 50 && rows.every((row) => expected[row.dataset.id] === row.dataset.status); })()`,
      undefined,
      { timeout: 20_000 },
    );
    expect(await page.evaluate(`window.notReloaded === true`)).toBe(true);
    expect(new Set(created.map((task: { id: string }) => task.id))).toEqual(new Set(Object.keys(expected)));

    // Several statuses at once, counted per status; the filters live in the URL.
    const failed = truth.filter((task) => task.status === 'FAILED').length;
    await page.waitForSelector(`[data-filter-status=FAILED] .count:text-is("${failed}")`);
    await page.click('[data-filter-status=FAILED]');
    await page.waitForFunction(`document.querySelectorAll('tbody tr[data-id]').length === ${failed}`);
    await page.click('[data-filter-status=SUCCESS]');
    await page.waitForFunction(`document.querySelectorAll('tbody tr[data-id]').length === 50`);
    expect(page.url()).toMatch(/#\/tasks\?status=FAILED%2CSUCCESS$/);
    await page.fill('input[name=type]', 'shell');
    await page.press('input[name=type]', 'Enter');
    await page.waitForFunction(`document.querySelectorAll('tbody tr[data-id]').length === ${failed}`);
    await page.close();
  });

  it('keeps a 100,000-line log responsive: only the lines in sight are in the page', async () => {
    const task = await createTask({ type: 'shell', params: { command: 'seq', args: ['1', '100000'] } });
    const page = await signedIn(org.token);
    await page.goto(`${platform.baseUrl}/console/#/tasks/${task.id}`);
    await page.waitForSelector('[data-fact=status] [data-status=SUCCESS]', { timeout: 30_000 });
    await page.waitForSelector('[data-line-count]:text-is("100000 lines")', { timeout: 30_000 });
    expect(await page.locator('.logs .line').count()).toBeLessThan(200);
    await page.evaluate(`document.querySelector('.logs').scrollTop = 900000`);
    await page.waitForSelector('.logs .line .text:text-is("50001")');
    // Still only the lines in sight, now from the middle of the log.
    expect(await page.locator('.logs .line').count()).toBeLessThan(200);
    expect(await page.locator('.logs .line .text:text-is("1")').count()).toBe(0);
    await page.close();
  });

  it('shows each log line with its time, long lines scrolled or wrapped, ANSI colours, searchable with count, next, previous and matching only', async () => {
    const long = `long-${'x'.repeat(600)}-end`;
    const script = [
      `echo "${long}"`,
      `printf '\\033[31mred words\\033[0m plain\\n'`,
      'echo "needle one"',
      'echo "hay"',
      'echo "fatal: something broke" >&2',
      'echo "needle two"',
      'echo "needle three"',
    ].join('; ');
    const task = await createTask({ type: 'shell', params: { command: 'sh', args: ['-c', script] } });
    const page = await signedIn(org.token, `#/tasks/${task.id}`);
    await page.waitForSelector('[data-fact=status] [data-status=SUCCESS]', { timeout: 30_000 });
    await page.waitForSelector('.logs .line:has-text("needle three")');

    const longLine = page.locator('.logs .line', { hasText: 'long-x' });
    expect(await longLine.locator('.text').textContent()).toBe(long);
    expect(await longLine.locator('.ts').textContent()).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
    // Not wrapped: the log scrolls sideways to the end of the long line.
    expect(await page.evaluate(`document.querySelector('.logs').scrollWidth > document.querySelector('.logs').clientWidth + 1000`)).toBe(
      true,
    );
    await page.check('input[name=wrap]');
    await page.waitForFunction(`document.querySelector('.logs').scrollWidth <= document.querySelector('.logs').clientWidth`);
    await expect(longLine.evaluate((line) => line.getBoundingClientRect().height)).resolves.toBeGreaterThan(18 * 3);

    // ANSI escapes become colour, not text.
    const red = page.locator('.logs .line .text', { hasText: 'red words' });
    expect(await red.textContent()).toBe('red words plain');
    expect(await red.locator('span', { hasText: 'red words' }).getAttribute('style')).toMatch(/color:\s*rgb\(/);

    await page.fill('input[name=log-search]', 'needle');
    await page.waitForSelector('[data-match-count]:text-is("0 / 3 matches")');
    await page.click('[data-next-match]');
    await page.waitForSelector('[data-match-count]:text-is("1 / 3 matches")');
    await page.waitForSelector('.logs .line.current-match:has-text("needle one")');
    await page.click('[data-previous-match]');
    await page.waitForSelector('[data-match-count]:text-is("3 / 3 matches")');
    await page.waitForSelector('.logs .line.current-match:has-text("needle three")');
    await page.check('input[name=matching-only]');
    await page.waitForSelector('[data-line-count]:text-is("3 lines")');
    expect(await page.locator('.logs .line .text').allTextContents()).toEqual(['needle one', 'needle two', 'needle three']);
    await page.uncheck('input[name=matching-only]');
    await page.fill('input[name=log-search]', '');

    await page.click('[data-first-error]');
    await page.waitForSelector('.logs .line.error-line:has-text("fatal: something broke")');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-download]')]);
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text).toContain('STDERR fatal: something broke');
    expect(text).toContain('red words plain');
    expect(text).not.toContain('\u001b[');
    await screenshots(page, 'task-log');
    await page.close();
  });

  it('re-runs a task from its page, and the re-run links to the task it re-ran', async () => {
    const original = await createTask({ type: 'noop' });
    const page = await signedIn(org.token, `#/tasks/${original.id}`);
    await page.waitForSelector('[data-fact=status] [data-status=SUCCESS]');
    expect(await page.locator('a[data-rerun-of]').count()).toBe(0);
    await page.click('button:text("Re-run")');
    await page.waitForURL((url) => /#\/tasks\/[0-9a-f-]{36}$/.test(url.hash) && !url.hash.endsWith(original.id));
    const rerunId = page.url().split('/').at(-1)!;
    await page.waitForSelector(`a[data-rerun-of][href="#/tasks/${original.id}"]`);
    expect((await platform.request('GET', `/v1/tasks/${rerunId}`, { token: org.token })).body.rerunOf).toBe(original.id);
    await page.click('a[data-rerun-of]');
    await page.waitForURL(new RegExp(`#/tasks/${original.id}$`));
    await page.waitForSelector('[data-fact=status] [data-status=SUCCESS]');
    await page.close();
  });

  it('says "not found" for an unknown task id, with no buttons and no uncaught error', async () => {
    const page = await signedIn(org.token, `#/tasks/00000000-0000-4000-8000-000000000000`);
    await page.waitForSelector('h1:text("Task not found")');
    expect(await page.locator('button:text("Cancel"), button:text("Re-run")').count()).toBe(0);
    await page.goto(`${platform.baseUrl}/console/#/tasks/not-a-task-id`);
    await page.waitForSelector('[data-not-found]:has-text("not-a-task-id")');
    expect(await page.locator('button:text("Cancel"), button:text("Re-run")').count()).toBe(0);
    await screenshots(page, 'task-not-found');
    await page.close();
  });

  it('keeps a deep link through sign-in, and every row is a real link', async () => {
    const task = await createTask({ type: 'noop' });
    // A new tab: signed out, opened on the task's URL.
    const page = await browser.newPage({ viewport: DESKTOP });
    page.on('pageerror', (error) => uncaught.push(error.message));
    await page.goto(`${platform.baseUrl}/console/#/tasks/${task.id}`);
    await page.fill('input[name=token]', org.token);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-fact=status] [data-status=SUCCESS]');
    expect(page.url()).toBe(`${platform.baseUrl}/console/#/tasks/${task.id}`);

    await page.goto(`${platform.baseUrl}/console/#/tasks`);
    const link = page.locator(`tr[data-id="${task.id}"] a[href="#/tasks/${task.id}"]`).first();
    await link.waitFor();
    expect(await link.evaluate((element) => element.tagName)).toBe('A');
    await screenshots(page, 'tasks');
    await page.close();
  });

  it('opens a link to a pool, schedule, webhook, task, filtered list or org in a new tab, after sign-in', async () => {
    await platform.request('POST', '/v1/pools', { token: org.token, body: { name: 'linked-pool', kind: 'sandbox' } });
    const schedule = await platform.request('POST', '/v1/schedules', {
      token: org.token,
      body: { name: 'linked-schedule', everyMs: 3_600_000, task: { type: 'noop' } },
    });
    await platform.request('POST', `/v1/schedules/${schedule.body.id}/pause`, { token: org.token });
    const webhook = await platform.request('POST', '/v1/webhooks', {
      token: org.token,
      body: { url: `${receiverUrl}?linked`, events: ['task.failed'], secret: WEBHOOK_SECRET },
    });
    const task = await createTask({ type: 'noop' });
    const links: [string, string, string][] = [
      ['#/pools/linked-pool', '[data-pool=linked-pool]', org.token],
      [`#/schedules/${schedule.body.id}`, '[data-schedule=linked-schedule]', org.token],
      [`#/webhooks/${webhook.body.id}`, `h2:text("${receiverUrl}?linked")`, org.token],
      [`#/tasks/${task.id}`, '[data-fact=status] [data-status=SUCCESS]', org.token],
      ['#/tasks?status=SUCCESS', `tr[data-id="${task.id}"]`, org.token],
      ['#/admin/console-demo', 'tr.selected[data-slug=console-demo]', TEST_ADMIN_TOKEN],
    ];
    for (const [hash, shows, token] of links) {
      const page = await browser.newPage({ viewport: DESKTOP });
      page.on('pageerror', (error) => uncaught.push(error.message));
      await page.goto(`${platform.baseUrl}/console/${hash}`);
      await page.fill('input[name=token]', token);
      await page.click('button[type=submit]');
      await page.waitForSelector(shows);
      expect(decodeURIComponent(new URL(page.url()).hash)).toBe(decodeURIComponent(hash));
      if (hash === '#/pools/linked-pool') await screenshots(page, 'pool');
      await page.close();
    }
  });

  it('keeps the workers page live without polling: running count and heartbeat move by events; long-offline workers are hidden unless asked for', async () => {
    // A worker of a process gone half an hour ago, as the registry keeps it for a while.
    const keys = platform.api.get(RedisKeys);
    const redis = platform.api.get(RedisConnection).client;
    const goneAt = Date.now() - 1_800_000;
    const gone = new Date(goneAt).toISOString();
    const ghost = {
      id: 'gone-worker',
      hostname: 'old-host',
      pid: 1,
      concurrency: 4,
      running: 0,
      draining: false,
      stopped: true,
      startedAt: gone,
    };
    await redis.set(keys.platform('worker', ghost.id), JSON.stringify({ ...ghost, lastHeartbeatAt: gone }), 'EX', 600);
    await redis.zadd(keys.platform('workers'), goneAt, ghost.id);

    const [worker] = (await platform.request('GET', '/v1/workers', { token: org.token })).body;
    const page = await signedIn(org.token, '#/workers');
    const polls: string[] = [];
    page.on('request', (request) => request.url().includes('/v1/workers') && polls.push(request.url()));
    const row = `tr[data-id="${worker.id}"]`;
    await page.waitForSelector(`${row} .dot.ONLINE`);
    expect(await page.locator('tr[data-id="gone-worker"]').count()).toBe(0);
    const firstBeat = await page.getAttribute(`${row} [data-heartbeat] time`, 'datetime');

    // The worker announces its running count when it changes; the event carries its heartbeat.
    const sleeper = await createTask({ type: 'sleep', params: { ms: 8000 } });
    await page.waitForSelector(`${row} [data-running]:text-matches("^[1-9]\\\\d* / ")`, { timeout: 15_000 });
    expect(await page.getAttribute(`${row} [data-heartbeat] time`, 'datetime')).not.toBe(firstBeat);
    await platform.request('POST', `/v1/tasks/${sleeper.id}/cancel`, { token: org.token });
    await page.waitForSelector(`${row} [data-running]:text-matches("^0 / ")`, { timeout: 15_000 });

    await page.check('input[name=show-old]');
    await page.waitForSelector('tr[data-id="gone-worker"] .dot.OFFLINE');
    expect(polls).toEqual([]);
    await screenshots(page, 'workers');
    await page.close();
  });

  it("manages pools: shows each lease's holder and end, adds environments, releases leases, retires after asking", async () => {
    const pool = (await platform.request('POST', '/v1/pools', { token: org.token, body: { name: 'console-pool', kind: 'sandbox' } })).body;
    for (const name of ['box-1', 'box-2']) {
      await platform.request('POST', `/v1/pools/${pool.id}/environments`, { token: org.token, body: { name } });
    }
    const lease = await platform.request('POST', `/v1/pools/${pool.id}/allocations`, {
      token: org.token,
      body: { holder: 'console-ci', ttlSeconds: 600 },
    });
    const page = await signedIn(org.token, '#/pools');
    await page.waitForSelector('[data-pool=console-pool] h2:has-text("1 free, 1 allocated")');
    const held = `[data-pool=console-pool] tr[data-environment="${lease.body.environment.name}"]`;
    expect(await page.textContent(`${held} [data-holder]`)).toBe('console-ci');
    expect(await page.textContent(`${held} [data-expires]`)).toMatch(/^in (9|10) min$/);

    await page.fill('[data-pool=console-pool] input[name=environment-name]', 'box-3');
    await page.click('[data-pool=console-pool] button:text("Add environment")');
    await page.waitForSelector('[data-pool=console-pool] h2:has-text("2 free, 1 allocated")');

    await page.click(`${held} [data-release]`);
    await page.waitForSelector('[data-pool=console-pool] h2:has-text("3 free, 0 allocated")');
    expect((await platform.request('GET', `/v1/allocations/${lease.body.id}`, { token: org.token })).body.status).not.toBe('active');

    await page.click('[data-pool=console-pool] [data-retire="box-3"]');
    await page.click('dialog.confirm button:text("Keep it")');
    expect(await page.locator('[data-pool=console-pool] tr[data-environment="box-3"]').count()).toBe(1);
    await page.click('[data-pool=console-pool] [data-retire="box-3"]');
    await page.click('dialog.confirm [data-confirm]');
    await page.waitForSelector('[data-pool=console-pool] h2:has-text("2 free, 0 allocated")');
    expect(await page.locator('[data-pool=console-pool] tr[data-environment="box-3"]').count()).toBe(0);

    await page.fill('input[name=pool-name]', 'made-in-console');
    await page.fill('input[name=pool-kind]', 'vm');
    await page.click('button:text("Create pool")');
    await page.waitForSelector('[data-pool=made-in-console]');
    await screenshots(page, 'pools');
    await page.goto(`${platform.baseUrl}/console/#/pools/console-pool`);
    await page.waitForSelector('[data-pool=console-pool]');
    expect(await page.locator('[data-pool=made-in-console]').count()).toBe(0);
    await page.close();
  });

  it('creates an API token shown once until dismissed, shows when each was last used, revokes after asking; a revoked session returns to sign-in', async () => {
    const page = await signedIn(org.token, '#/tokens');
    await page.fill('input[name=token-name]', 'console-ci');
    await page.selectOption('select[name=token-role]', 'viewer');
    await page.click('button:text("Create token")');
    const secret = (await page.textContent('code[data-secret=console-ci]'))!;
    expect(secret).toMatch(/^plat_/);
    await page.waitForSelector('tr[data-token=console-ci] [data-last-used]:text-is("never")');
    expect((await platform.request('GET', '/v1/tasks?limit=1', { token: secret })).status).toBe(200);
    const used = await waitFor('lastUsedAt to be written', async () => {
      const tokens = (await platform.request('GET', '/v1/tokens', { token: org.token })).body as {
        name: string;
        lastUsedAt: string | null;
      }[];
      return tokens.find((token) => token.name === 'console-ci')?.lastUsedAt ?? undefined;
    });
    expect(used).toBeTruthy();
    await page.reload();
    await page.waitForSelector('tr[data-token=console-ci] [data-last-used] time');
    await screenshots(page, 'tokens');

    // Someone signed in with the token when it is revoked: their next request takes them to sign-in, and back after it.
    const holder = await signedIn(secret, '#/tasks');
    await page.click('[data-revoke=console-ci]');
    await page.click('dialog.confirm [data-confirm]');
    await page.waitForSelector('tr[data-token=console-ci] [data-status=REVOKED]');
    expect((await platform.request('GET', '/v1/tasks?limit=1', { token: secret })).status).toBe(401);
    await holder.goto(`${platform.baseUrl}/console/#/workers`);
    await holder.waitForSelector('input[name=token]');
    await holder.fill('input[name=token]', org.token);
    await holder.click('button[type=submit]');
    await holder.waitForSelector('h1:text("Workers")');
    expect(holder.url()).toBe(`${platform.baseUrl}/console/#/workers`);
    await holder.close();
    await page.close();
  });

  it('creates, pauses and resumes a schedule, and lists the tasks it made as links', async () => {
    const page = await signedIn(org.token, '#/schedules');
    await page.fill('input[name=schedule-name]', 'every-second');
    await page.fill('input[name=schedule-when]', '1');
    await page.selectOption('select[name=schedule-type]', 'noop');
    await page.click('button:text("Create schedule")');
    await page.waitForURL(/#\/schedules\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    const made = await waitFor('the schedule to make a task', async () => {
      const runs = (await platform.request('GET', `/v1/schedules/${id}/runs`, { token: org.token })).body.items as { id: string }[];
      return runs.length ? runs : undefined;
    });
    await page.reload();
    await page.waitForSelector(`a[href="#/tasks/${made[0]!.id}"]`);
    expect((await page.textContent('[data-fact=next-runs]'))!.split(' · ')).toHaveLength(3);
    await page.click('[data-toggle=every-second]');
    await page.waitForSelector('[data-schedule=every-second] [data-status=PAUSED]');
    expect(await page.textContent('[data-fact=next-runs]')).toBe('none while paused');
    await screenshots(page, 'schedule');
    await page.click('h1 a');
    await page.waitForSelector('tr[data-schedule=every-second] [data-status=PAUSED]');
    await page.click('[data-toggle=every-second]');
    await page.waitForSelector('tr[data-schedule=every-second] [data-status=ACTIVE]');
    await page.click('[data-toggle=every-second]');
    await page.waitForSelector('tr[data-schedule=every-second] [data-status=PAUSED]');

    // A cron schedule's next ticks, from its pattern in its time zone.
    const nightly = await platform.request('POST', '/v1/schedules', {
      token: org.token,
      body: { name: 'nightly', cron: '30 3 * * *', timezone: 'UTC', task: { type: 'noop' } },
    });
    await page.reload();
    await page.waitForSelector('tr[data-schedule=nightly] [data-next-run] time');
    expect(await page.textContent('tr[data-schedule=nightly] [data-next-run]')).toMatch(/^in \d+ (min|h \d+ min)$/);
    await screenshots(page, 'schedules');
    await page.click('tr[data-schedule=nightly] a');
    const runs = (await page.textContent('[data-fact=next-runs]'))!.split(' · ');
    expect(runs).toHaveLength(3);
    // Runs in the page: 03:30 UTC as the browser shows a time.
    const expected = await page.evaluate(`new Date(Date.UTC(2000, 0, 1, 3, 30)).toLocaleTimeString()`);
    for (const run of runs) expect(run).toContain(expected);
    await platform.request('POST', `/v1/schedules/${nightly.body.id}/pause`, { token: org.token });
    await page.close();
  });

  it("adds a webhook, shows its deliveries (status, attempts, the receiver's answer) and redelivers one", async () => {
    const page = await signedIn(org.token, '#/webhooks');
    await page.fill('input[name=webhook-url]', receiverUrl);
    await page.fill('input[name=webhook-secret]', WEBHOOK_SECRET);
    await page.click('button:text("Add webhook")');
    await page.waitForSelector(`tr[data-webhook="${receiverUrl}"]`);
    await screenshots(page, 'webhooks');
    const task = await createTask({ type: 'noop' });
    await page.click(`tr[data-webhook="${receiverUrl}"] a`);
    await waitFor('a delivery', async () => {
      await page.click('[data-refresh]');
      return (await page.locator('tr[data-status=DELIVERED]').count()) ? true : undefined;
    });
    const delivery = page.locator('tr[data-status=DELIVERED]').first();
    expect(await delivery.textContent()).toContain('task.succeeded');
    expect(await delivery.textContent()).toContain('204');
    expect(await delivery.locator(`a[href="#/tasks/${task.id}"]`).count()).toBe(1);
    const deliveryId = (await delivery.getAttribute('data-delivery'))!;
    const row = `tr[data-delivery="${deliveryId}"]`;
    expect(await page.textContent(`${row} [data-attempts]`)).toBe('1');
    await page.click(`${row} [data-redeliver]`);
    await page.waitForSelector(`${row} [data-redelivery-queued]`);
    await waitFor('the redelivery to be recorded', async () => {
      await page.click('[data-refresh]');
      await page.waitForSelector(`${row} [data-attempts]`);
      return (await page.textContent(`${row} [data-attempts]`)) === '2' ? true : undefined;
    });
    expect(await page.getAttribute(row, 'data-status')).toBe('DELIVERED');
    await screenshots(page, 'webhook-deliveries');
    await page.close();
  });

  it('creates a change trigger, disables and enables it, and lists its runs with their tasks', async () => {
    await platform.queryOrgDatabase(org.slug, `CREATE TABLE public.releases (key text PRIMARY KEY, value int, updated_by text)`);
    await waitFor('the relay to stream the org', async () => {
      const [slot] = await platform.queryOrgDatabase(
        org.slug,
        'SELECT active FROM pg_replication_slots WHERE database = current_database()',
      );
      return slot?.active ? true : undefined;
    });
    const page = await signedIn(org.token, '#/triggers');
    await page.fill('input[name=trigger-name]', 'on-release');
    await page.fill('input[name=trigger-table]', 'releases');
    await page.selectOption('select[name=trigger-type]', 'noop');
    await page.click('button:text("Create trigger")');
    await page.waitForSelector('tr[data-trigger=on-release] [data-status=ENABLED]');
    await page.click('[data-toggle=on-release]');
    await page.waitForSelector('tr[data-trigger=on-release] [data-status=DISABLED]');
    await page.click('[data-toggle=on-release]');
    await page.waitForSelector('tr[data-trigger=on-release] [data-status=ENABLED]');
    await screenshots(page, 'triggers');

    await platform.queryOrgDatabase(org.slug, `INSERT INTO public.releases (key, value) VALUES ('v1', 1)`);
    await page.click('tr[data-trigger=on-release] a');
    await waitFor(
      'a run',
      async () => {
        await page.reload();
        await page.waitForSelector('[data-trigger=on-release]');
        return (await page.locator('tr[data-run]').count()) ? true : undefined;
      },
      30_000,
    );
    const runTask = await page.getAttribute('tr[data-run]', 'data-run');
    expect(await page.locator(`tr[data-run] a[href="#/tasks/${runTask}"]`).count()).toBe(1);
    await screenshots(page, 'trigger-runs');
    await page.close();
  });

  it('charts the last hour live: tasks finishing while the page is open move the charts', async () => {
    // Listening from the start: the hour's figures are read once, as the page opens, which may be before signing in returns.
    const reads: string[] = [];
    const page = await signedIn(org.token, '#/overview', reads);
    await page.waitForSelector('[data-chart=throughput] canvas');
    await page.waitForSelector('.charts[data-stats-to]');
    const before = Number(await page.getAttribute('[data-chart=throughput]', 'data-total'));
    await Promise.all(
      [
        ...Array.from({ length: 6 }, () => ({ type: 'sleep', params: { ms: 200 } })),
        ...Array.from({ length: 2 }, () => ({ type: 'shell', params: { command: 'sh', args: ['-c', 'exit 1'] } })),
      ].map((body) => createTask(body)),
    );
    await platform.waitForQueuesDrained(60_000);
    await page.waitForFunction(`Number(document.querySelector('[data-chart=throughput]').dataset.total) >= ${before + 8}`, undefined, {
      timeout: 15_000,
    });
    expect(Number(await page.getAttribute('[data-chart=failure-rate]', 'data-total'))).toBeGreaterThan(0);
    // The hour's figures come from the stats route; the task list is never paged.
    expect(reads).toContain('/v1/stats/tasks');
    expect(reads).not.toContain('/v1/tasks');
    expect(Number(await page.getAttribute('[data-chart=durations]', 'data-total'))).toBeGreaterThan(0);
    expect(await page.evaluate(`window.getComputedStyle(document.querySelector('[data-chart=throughput] canvas')).display`)).not.toBe(
      'none',
    );
    await screenshots(page, 'overview');
    await page.close();
  });

  it('puts every page in a 390 px phone screen without sideways overflow; `/` focuses the search; dark follows the system', async () => {
    const page = await signedIn(org.token);
    await page.setViewportSize(PHONE);
    for (const hash of ['#/overview', '#/tasks', '#/workers', '#/pools', '#/schedules', '#/triggers', '#/webhooks', '#/tokens']) {
      await page.goto(`${platform.baseUrl}/console/${hash}`);
      await page.waitForSelector('main h1');
      await page.waitForLoadState('networkidle');
      expect({ hash, overflow: await overflow(page) }).toEqual({ hash, overflow: 0 });
    }
    await page.goto(`${platform.baseUrl}/console/#/tasks`);
    await page.waitForSelector('input[name=type]');
    await page.click('main h1');
    await page.keyboard.press('/');
    expect(await page.evaluate(`document.activeElement.name`)).toBe('type');

    // Dark when the system is.
    const background = () => page.evaluate(`getComputedStyle(document.documentElement).backgroundColor`);
    expect(await background()).toBe('rgb(247, 248, 250)');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await background()).toBe('rgb(13, 17, 23)');
    await page.setViewportSize(DESKTOP);
    await page.screenshot({ path: join(SCREENSHOTS, 'tasks-dark.png') });
    await page.goto(`${platform.baseUrl}/console/#/overview`);
    await page.waitForSelector('[data-chart=throughput] canvas');
    await page.screenshot({ path: join(SCREENSHOTS, 'overview-dark.png') });
    await page.close();
  });

  it('shows the platform admin the org instances, provisioning live; keeps a new token until dismissed; deprovisions only after asking', async () => {
    const page = await signedIn(TEST_ADMIN_TOKEN);
    await page.waitForSelector('tr[data-slug=console-demo] [data-status=READY]');
    expect(await page.textContent('tr[data-slug=console-demo]')).toContain('READY');
    // The relay's state shows as the admin API gives it (an org that publishes no table holds no relay).
    const relay = (await platform.request('GET', '/v1/admin/orgs/console-demo')).body.instance.realtime;
    await page.waitForSelector(`tr[data-slug=console-demo] [data-realtime=${relay.state}]`);
    // A mark that a reload would wipe: the row must turn READY in this very page, from live events.
    await page.evaluate(`window.notReloaded = true`);
    await page.fill('input[name=slug]', 'created-live');
    await page.fill('input[name=name]', 'Created live');
    await page.click('form button[type=submit]');
    await page.waitForSelector('tr[data-slug=created-live] [data-status=READY]', { timeout: 20_000 });
    expect(await page.evaluate(`window.notReloaded === true`)).toBe(true);
    expect(await page.textContent('tr[data-slug=created-live]')).toContain('Created live');
    expect((await platform.request('GET', '/v1/admin/orgs/created-live')).body.instance.status).toBe('READY');

    // The token is shown once, and stays while more happens on the page.
    const token = (await page.textContent('code[data-token=created-live]'))!;
    expect((await platform.request('GET', '/v1/me', { token })).status).toBe(200);
    await page.fill('input[name=slug]', 'second-live');
    await page.fill('input[name=name]', 'Second live');
    await page.click('form button[type=submit]');
    await page.waitForSelector('code[data-token=second-live]');
    expect(await page.textContent('code[data-token=created-live]')).toBe(token);
    await page.waitForSelector('tr[data-slug=second-live] [data-status=READY]', { timeout: 20_000 });
    await screenshots(page, 'admin');

    await page.click('[data-deprovision=created-live]');
    await page.click('dialog.confirm button:text("Keep it")');
    expect((await platform.request('GET', '/v1/admin/orgs/created-live')).body.instance.status).toBe('READY');
    await page.click('[data-deprovision=created-live]');
    expect(await page.textContent('dialog.confirm')).toContain('created-live');
    await page.click('dialog.confirm [data-confirm]');
    await page.waitForSelector('tr[data-slug=created-live] [data-status=DELETED]', { timeout: 30_000 });

    await page.click('.notice:has(code[data-token=created-live]) [data-dismiss]');
    expect(await page.locator('code[data-token=created-live]').count()).toBe(0);
    expect(await page.locator('code[data-token=second-live]').count()).toBe(1);
    await page.goto(`${platform.baseUrl}/console/#/admin/second-live`);
    await page.waitForSelector('tr.selected[data-slug=second-live]');
    await page.close();
  });
});
