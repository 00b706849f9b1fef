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
    const { code, output } = await cli(['tasks', 'run', 'shell', '--', 'sh', '-c', 'echo hello from the task; echo to stderr >&2']);
    expect(output).toContain('hello from the task\n');
    expect(output).toContain('to stderr\n');
    expect(output).toMatch(/task \S+ SUCCESS/);
    expect(code).toBe(0);
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
