import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { fromProjectRoot } from '#libs/config';
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
const SHELL_SCRIPT = 'for i in 1 2 3 4 5 6; do echo "line-$i"; echo "oops-$i error" >&2; sleep 0.4; done; echo finished';

describe('operator console (headless Chromium, real API, worker and realtime)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    platform = await startTestPlatform({ env: { TASK_SHELL_ALLOW: 'sh,seq' } });
    org = await platform.createOrg('console-demo');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await platform.close();
  });

  async function signedIn(token: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${platform.baseUrl}/console/`);
    await page.fill('input[name=token]', token);
    await page.screenshot({ path: join(SCREENSHOTS, 'sign-in.png') });
    await page.click('button[type=submit]');
    await page.waitForSelector('#who a');
    return page;
  }

  it('runs a shell task and shows its log live: filter to STDERR, search, then SUCCESS without a reload', async () => {
    const page = await signedIn(org.token);
    expect(await page.textContent('#who')).toContain('console-demo · admin');
    await page.waitForSelector('h1:text("Tasks")');

    await page.selectOption('select[name=new-type]', 'shell');
    await page.fill('textarea[name=new-params]', JSON.stringify({ command: 'sh', args: ['-c', SHELL_SCRIPT] }));
    await page.click('form button[type=submit]');
    await page.waitForURL(/#\/tasks\/[0-9a-f-]{36}$/);

    // Output arrives while the task still runs.
    await page.waitForSelector('.logs .line:text("line-1")');
    expect(await page.textContent('[data-fact=status]')).not.toContain('SUCCESS');

    await page.click('button.chip[data-stream=STDERR]');
    // Runs in the page: every rendered log line is a STDERR one.
    await page.waitForFunction(
      `[...document.querySelectorAll('.logs .line')].length > 0 && [...document.querySelectorAll('.logs .line')].every((line) => line.textContent.startsWith('oops-'))`,
    );
    await expect(page.locator('.logs .line.error-line').count()).resolves.toBeGreaterThan(0);

    await page.fill('input[name=log-search]', 'oops-1');
    await page.waitForSelector('.logs mark:text("oops-1")');

    await page.waitForSelector('[data-fact=status] [data-status=SUCCESS]', { timeout: 30_000 });
    await page.click('button.chip[data-stream=ALL]');
    await page.waitForSelector('.logs .line:text("finished")');
    await page.screenshot({ path: join(SCREENSHOTS, 'task.png') });

    await page.goto(`${platform.baseUrl}/console/#/tasks`);
    await page.waitForSelector('tr.clickable [data-status=SUCCESS]');
    await page.screenshot({ path: join(SCREENSHOTS, 'tasks.png') });
    const [worker] = (await platform.request('GET', '/v1/workers', { token: org.token })).body;
    await page.goto(`${platform.baseUrl}/console/#/workers`);
    await page.waitForSelector(`tr[data-id="${worker.id}"] .dot.ONLINE`);
    expect(await page.textContent(`tr[data-id="${worker.id}"]`)).toContain('ONLINE');
    await page.screenshot({ path: join(SCREENSHOTS, 'workers.png') });

    const pool = (await platform.request('POST', '/v1/pools', { token: org.token, body: { name: 'console-pool', kind: 'sandbox' } })).body;
    for (const name of ['box-1', 'box-2']) {
      await platform.request('POST', `/v1/pools/${pool.id}/environments`, { token: org.token, body: { name } });
    }
    await platform.request('POST', `/v1/pools/${pool.id}/allocations`, {
      token: org.token,
      body: { holder: 'console-ci', ttlSeconds: 600 },
    });
    await page.goto(`${platform.baseUrl}/console/#/pools`);
    await page.waitForSelector('[data-pool=console-pool] h2:has-text("1 free, 1 allocated")');
    expect(await page.locator('[data-pool=console-pool] tbody tr').count()).toBe(2);
    const statuses = await page.locator('[data-pool=console-pool] tbody tr').allTextContents();
    expect(statuses.filter((row) => row.includes('allocated'))).toHaveLength(1);
    expect(statuses.filter((row) => row.includes('free'))).toHaveLength(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'pools.png') });
    await page.close();
  });

  it('keeps a 100,000-line log responsive: only the lines in sight are in the page', async () => {
    const task = await platform.request('POST', '/v1/tasks', {
      token: org.token,
      body: { type: 'shell', params: { command: 'seq', args: ['1', '100000'] } },
    });
    const page = await signedIn(org.token);
    await page.goto(`${platform.baseUrl}/console/#/tasks/${task.body.id}`);
    await page.waitForSelector('[data-fact=status] [data-status=SUCCESS]', { timeout: 30_000 });
    await page.waitForSelector('.toolbar .muted:text-is("100000 lines")', { timeout: 30_000 });
    expect(await page.locator('.logs .line').count()).toBeLessThan(200);
    await page.evaluate(`document.querySelector('.logs').scrollTop = 900000`);
    await page.waitForSelector('.logs .line:text-is("50001")');
    // Still only the lines in sight, now from the middle of the log.
    expect(await page.locator('.logs .line').count()).toBeLessThan(200);
    expect(await page.locator('.logs .line:text-is("1")').count()).toBe(0);
    await page.close();
  });

  it('shows the platform admin the org instances, provisioning live', async () => {
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
    await page.screenshot({ path: join(SCREENSHOTS, 'admin.png') });
    await page.close();
  });
});
