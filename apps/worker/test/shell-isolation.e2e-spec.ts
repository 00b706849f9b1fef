import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskLifecycle, type StoredTask } from '#libs/tasks';
import { spawnPlatformProcess, waitFor, type PlatformProcess } from '#libs/testing';
import { startTestPlatform, type CreatedOrg, type TestPlatform } from '../../api/test/platform-harness.js';

/** The unprivileged user tasks run as here (it exists on Debian and in the platform image). */
const TASK_USER = 'nobody';
const PROCESS_LIMIT = 32;
const OUTPUT_LIMIT = 1_048_576;
const FLOOD_BYTES = 209_715_200;
/**
 * Documented bound (README, Security): a worker's peak RSS while a task floods 200 MB of
 * output, with TASK_OUTPUT_MAX_BYTES at 1 MiB. Without the cap it would hold the whole flood.
 */
const WORKER_PEAK_RSS_BOUND_BYTES = 256 * 1024 * 1024;

/** Processes (not zombies) whose real uid is `uid`, from /proc. */
async function liveProcessesOf(uid: number): Promise<number> {
  let count = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const realUid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const state = /^State:\s+(\w)/m.exec(status)?.[1];
    if (realUid === String(uid) && state !== 'Z') count++;
  }
  return count;
}

/** Pids of live processes of `uid` whose command line is `cmdline` (NUL-separated, as in /proc). */
async function processesOf(uid: number, cmdline: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (/^Uid:\s+(\d+)/m.exec(status)?.[1] === String(uid) && command === cmdline) found.push(Number(entry));
  }
  return found;
}

/** Peak resident set size of a process (VmHWM), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

describe('shell tasks run safely (real worker process as root, tasks as an unprivileged user, Redis, Postgres, HTTP)', () => {
  let platform: TestPlatform;
  let worker: PlatformProcess;
  let org: CreatedOrg;
  let dataDir: string;
  let plantDir: string;
  let taskUid: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'shell-worker-'));
    plantDir = await mkdtemp(join(tmpdir(), 'planted-'));
    // Reachable for the task user, like any folder on a PATH it could be told to use.
    await Promise.all([chmod(dataDir, 0o755), chmod(plantDir, 0o777)]);
    await writeFile(join(plantDir, 'echo'), `#!/bin/sh\ntouch ${plantDir}/planted-ran\necho PLANTED\n`, { mode: 0o755 });

    const allow = { TASK_SHELL_ALLOW: 'echo,sh,id,pwd', TASK_CANCEL_GRACE_MS: '500' };
    platform = await startTestPlatform({ withWorker: false, env: allow });
    worker = spawnPlatformProcess('worker', {
      ...platform.env,
      ...allow,
      DATA_DIR: dataDir,
      TASK_RUN_AS_USER: TASK_USER,
      TASK_LIMIT_PROCESSES: String(PROCESS_LIMIT),
      TASK_OUTPUT_MAX_BYTES: String(OUTPUT_LIMIT),
      LOG_LEVEL: 'info',
    });
    await worker.waitForOutput(/worker started/);
    org = await platform.createOrg();
    taskUid = Number(execFileSync('id', ['-u', TASK_USER], { encoding: 'utf8' }).trim());
  });
  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.waitForExit(30_000).catch(() => worker.child.kill('SIGKILL'));
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(plantDir, { recursive: true, force: true });
  });

  const createTask = (body: object) => platform.request('POST', '/v1/tasks', { token: org.token, body });
  const waitForTask = (id: string, timeoutMs = 30_000) =>
    waitFor(
      `task ${id} to finish`,
      async () => {
        const { body } = await platform.request('GET', `/v1/tasks/${id}`, { token: org.token });
        return ['SUCCESS', 'FAILED', 'CANCELLED'].includes(body?.status) ? body : undefined;
      },
      timeoutMs,
    );
  const output = async (id: string, stream = 'STDOUT') =>
    (await platform.request('GET', `/v1/tasks/${id}/logs?stream=${stream}&limit=1000`, { token: org.token })).body.items
      .map((item: any) => item.chunk)
      .join('');
  async function runShell(params: object): Promise<{ task: any; stdout: string }> {
    const created = await createTask({ type: 'shell', params });
    expect(created.status).toBe(201);
    const task = await waitForTask(created.body.id);
    return { task, stdout: await output(created.body.id) };
  }

  it('never runs a binary planted on a PATH the task sets: 400 at the API, a clean failure for a forged job', async () => {
    const refused = await createTask({ type: 'shell', params: { command: 'echo', args: ['hi'], env: { PATH: plantDir } } });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toEqual([expect.stringContaining('variable PATH is refused')]);

    // A job that never went through the API (as if Redis had been written to directly).
    const forged = async (env: Record<string, string>) => {
      const task: StoredTask = {
        id: randomUUID(),
        orgId: org.id,
        type: 'shell',
        status: 'QUEUED',
        params: { command: 'echo', args: ['hi'], env },
        class: 'normal',
        priority: 5,
        attempt: 1,
        maxAttempts: 1,
        timeoutMs: 30_000,
        attempts: [],
        createdAt: new Date().toISOString(),
      };
      // Stored and its run enqueued by the lifecycle owner, past the API's validation.
      const stored = await platform.api.get(TaskLifecycle).create(task, 0);
      if (!stored.created) throw new Error('the forged task was not stored');
      return waitForTask(task.id);
    };
    expect(await forged({ PATH: plantDir })).toMatchObject({
      status: 'FAILED',
      error: expect.stringContaining('params.env: variable PATH is refused'),
    });
    const control = await forged({ GREETING: 'x' });
    expect(control.status).toBe('SUCCESS');
    expect(await output(control.id)).toBe('hi\n');
    await expect(stat(join(plantDir, 'planted-ran'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses LD_PRELOAD, NODE_OPTIONS and the rest of the deny-list with 400 naming the variable', async () => {
    const refused = await createTask({
      type: 'shell',
      params: {
        command: 'echo',
        env: { LD_PRELOAD: '/tmp/x.so', NODE_OPTIONS: '--require /tmp/x.js', bash_env: '/tmp/x', GIT_SSH_COMMAND: 'x' },
      },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toEqual([
      expect.stringContaining('params.env: variable LD_PRELOAD is refused'),
      expect.stringContaining('params.env: variable NODE_OPTIONS is refused'),
      expect.stringContaining('params.env: variable bash_env is refused'),
      expect.stringContaining('params.env: variable GIT_SSH_COMMAND is refused'),
    ]);
    const fine = await runShell({
      command: 'sh',
      args: ['-c', 'echo "$GIT_AUTHOR_NAME $DEPLOY_ENV"'],
      env: { GIT_AUTHOR_NAME: 'ci', DEPLOY_ENV: 'prod' },
    });
    expect(fine.stdout).toBe('ci prod\n');
  });

  it('refuses cwd "/" and any cwd outside the task’s fresh working directory, which is removed afterwards', async () => {
    for (const cwd of ['/', '/etc', '../elsewhere', 'a/../../b']) {
      const refused = await createTask({ type: 'shell', params: { command: 'pwd', cwd } });
      expect(refused.status).toBe(400);
      expect(refused.body.message).toEqual([expect.stringContaining('params.cwd')]);
    }
    const { task, stdout } = await runShell({ command: 'sh', args: ['-c', 'pwd; echo "$HOME"; touch made-here'], cwd: 'sub/dir' });
    expect(task.status).toBe('SUCCESS');
    const [cwd, home] = stdout.trim().split('\n');
    const workspace = join(dataDir, 'task-work', `${task.id}-`);
    expect(cwd!.startsWith(workspace)).toBe(true);
    expect(cwd!.endsWith('/sub/dir')).toBe(true);
    expect(home).toBe(cwd!.slice(0, -'/sub/dir'.length));
    expect((await readdir(join(dataDir, 'task-work'))).filter((entry) => entry.startsWith(task.id))).toEqual([]);
  });

  it('runs tasks as TASK_RUN_AS_USER: id -u is not 0', async () => {
    const { task, stdout } = await runShell({ command: 'id', args: ['-u'] });
    expect(task.status).toBe('SUCCESS');
    expect(Number(stdout.trim())).not.toBe(0);
    expect(Number(stdout.trim())).toBe(taskUid);
    expect((await runShell({ command: 'id', args: ['-un'] })).stdout).toBe(`${TASK_USER}\n`);
  });

  it('keeps 1 MiB of a 200 MB output flood, ends it with a truncation line, and the worker’s peak RSS stays under the bound', async () => {
    const { task } = await runShell({ command: 'sh', args: ['-c', `yes | head -c ${FLOOD_BYTES}`] });
    expect(task.status).toBe('SUCCESS');
    const logs = await waitFor('the flood in history', async () => {
      const rows = await platform.queryOrgDatabase(org.slug, 'SELECT seq, stream, chunk FROM task_logs WHERE task_id = $1 ORDER BY seq', [
        task.id,
      ]);
      return rows.length ? rows : undefined;
    });
    const kept = logs.filter((row) => row.stream === 'STDOUT').reduce((sum, row) => sum + Buffer.byteLength(row.chunk), 0);
    expect(kept).toBe(OUTPUT_LIMIT);
    expect(logs.at(-1)).toMatchObject({
      stream: 'SYSTEM',
      chunk: `output truncated: ${FLOOD_BYTES - OUTPUT_LIMIT} bytes past the limit of ${OUTPUT_LIMIT} bytes (TASK_OUTPUT_MAX_BYTES) were dropped\n`,
    });
    expect(await peakRss(worker.child.pid!)).toBeLessThan(WORKER_PEAK_RSS_BOUND_BYTES);
  });

  it('stops a fork bomb with the process limit and the task’s time limit, leaves no process behind, and the worker runs on', async () => {
    const bomb = 'bomb() { bomb | bomb & }; bomb; while :; do :; done';
    const created = await createTask({ type: 'shell', params: { command: 'sh', args: ['-c', bomb] }, timeoutMs: 4000 });
    expect(created.status).toBe(201);
    // The bomb is at the limit once forks start failing.
    await waitFor('forks to fail', async () => ((await output(created.body.id, 'STDERR')).includes('fork') ? true : undefined), 30_000);
    expect(await liveProcessesOf(taskUid)).toBeLessThanOrEqual(PROCESS_LIMIT);

    const done = await waitForTask(created.body.id);
    expect(done).toMatchObject({ status: 'FAILED', error: 'timed out after 4000 ms' });
    await waitFor('every process of the task to be gone', async () => ((await liveProcessesOf(taskUid)) === 0 ? true : undefined));

    expect(worker.child.exitCode).toBeNull();
    const after = await runShell({ command: 'echo', args: ['still here'] });
    expect(after).toMatchObject({ task: { status: 'SUCCESS' }, stdout: 'still here\n' });
  });

  it('ends a task whose command left a process outside its group holding the output open', async () => {
    // The command returns only once its child has left the task's process group (a
    // session of its own: its group id is its pid), so the escape happened before the
    // worker kills what is left in the group.
    const escape = 'setsid sleep 600 & pid=$!; while read -r _ _ _ _ group _ < /proc/$pid/stat && [ "$group" != "$pid" ]; do :; done';
    const { task } = await runShell({ command: 'sh', args: ['-c', escape] });
    expect(task.status).toBe('SUCCESS');
    // The escaped process is still there: the task did not wait for it. It may still be
    // `setsid` for a moment, between leaving the group and exec'ing sleep.
    const escaped = await waitFor('the escaped process to be sleep 600', async () => {
      const pids = await processesOf(taskUid, 'sleep\u0000600\u0000');
      return pids.length > 0 ? pids : undefined;
    });
    expect(escaped).toHaveLength(1);
    for (const pid of escaped) process.kill(pid, 'SIGKILL');
    await waitFor('the escaped process to be gone', async () => ((await liveProcessesOf(taskUid)) === 0 ? true : undefined));
  });
});
