import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnPlatformProcess } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

describe('platform CLI: tasks run and watch stream a task live and exit with its outcome (real platform, real process)', () => {
  let platform: TestPlatform;
  let org: CreatedOrg;
  const cli = async (args: string[], env: Record<string, string> = { PLATFORM_URL: platform.baseUrl, PLATFORM_TOKEN: org.token }) => {
    const running = spawnPlatformProcess('cli', env, args);
    const code = await running.waitForExit(30_000);
    return { code, output: running.output() };
  };

  beforeAll(async () => {
    platform = await startTestPlatform({ env: { TASK_SHELL_ALLOW: 'sh' } });
    org = await platform.createOrg();
  });
  afterAll(async () => {
    await platform.close();
  });

  it('runs a shell command as a task, prints its output as it comes, and exits 0 on SUCCESS', async () => {
    // The task holds its second line back until the test has seen the first one printed.
    const folder = await mkdtemp(join(tmpdir(), 'cli-live-'));
    const go = join(folder, 'go');
    try {
      const script = `echo hello from the task; echo to stderr >&2; while [ ! -e ${go} ]; do sleep 0.05; done; echo after the go`;
      const running = spawnPlatformProcess('cli', { PLATFORM_URL: platform.baseUrl, PLATFORM_TOKEN: org.token }, [
        'tasks',
        'run',
        'shell',
        '--',
        'sh',
        '-c',
        script,
      ]);
      await running.waitForOutput(/hello from the task\n/, 30_000);
      await running.waitForOutput(/to stderr\n/, 30_000);
      expect(running.output()).not.toContain('after the go');
      expect(running.output()).not.toMatch(/task \S+ SUCCESS/);
      expect(running.child.exitCode).toBeNull();
      await writeFile(go, '');
      expect(await running.waitForExit(30_000)).toBe(0);
      expect(running.output()).toContain('after the go\n');
      expect(running.output()).toMatch(/task \S+ SUCCESS/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('exits 1 when the task fails, and 2 on a usage or configuration error', async () => {
    expect((await cli(['tasks', 'run', 'shell', '--', 'sh', '-c', 'exit 3'])).code).toBe(1);
    const usage = await cli(['tasks', 'fly']);
    expect(usage.code).toBe(2);
    expect(usage.output).toContain('usage:');
    expect((await cli(['tasks', 'run', 'noop'], {})).output).toContain('set PLATFORM_URL and PLATFORM_TOKEN');
  });

  it('passes --param values and watches an existing task to its end', async () => {
    expect((await cli(['tasks', 'run', 'sleep', '--param', 'ms=50'])).code).toBe(0);
    const created = await platform.request('POST', '/v1/tasks', { token: org.token, body: { type: 'sleep', params: { ms: 300 } } });
    const watched = await cli(['tasks', 'watch', created.body.id]);
    expect(watched.code).toBe(0);
    expect(watched.output).toContain(`task ${created.body.id} SUCCESS`);
  });
});
