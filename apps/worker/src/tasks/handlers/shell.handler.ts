import { spawn } from 'node:child_process';
import type { PlatformConfig } from '#libs/config';
import type { ShellParams } from '#libs/tasks';
import { TaskFailure, type TaskHandler } from '../task-handler.js';
import { resourceVariables } from '../task-leases.js';
import type { ShellRuntime } from '../shell/shell-runtime.js';
import { TaskOutput } from '../shell/task-output.js';
import type { TaskSecrets } from '../shell/task-secrets.js';

/**
 * How long output is still read after the command exited. A process that left the task's
 * group (setsid) and holds its output open is cut off after this, so the task ends.
 */
const OUTPUT_DRAIN_MS = 2000;

/** Variables a shell task inherits from the worker; nothing secret, and never settable by the task. */
const INHERITED_ENV = ['PATH', 'LANG', 'TZ'];

/** Sends `signal` to every process of the task's group; the group may be gone already. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/**
 * Runs an allow-listed executable by the absolute path resolved at worker start, with an
 * argument array (never through a shell), in a fresh working directory removed afterwards,
 * as TASK_RUN_AS_USER, under the TASK_LIMIT_* resource limits, in a process group of its
 * own. Aborting (cancel, timeout) sends SIGTERM to the whole group, then SIGKILL after
 * TASK_CANCEL_GRACE_MS; when the command exits, whatever it left running in its group is
 * killed, so nothing outlives the task. Output is masked for the task's secrets and capped.
 */
export function shellHandler(config: PlatformConfig, runtime: ShellRuntime, taskSecrets: TaskSecrets): TaskHandler<ShellParams> {
  return {
    type: 'shell',
    async run({ task, params, log, signal, resources }) {
      const executable = runtime.executable(params.command);
      if (!executable) throw new TaskFailure(`${params.command} is not an executable this worker has (TASK_SHELL_ALLOW)`);

      const secrets = await taskSecrets.reveal(task);
      const workspace = await runtime.createWorkspace(task.id);
      try {
        const cwd = await runtime.prepareCwd(workspace, params.cwd);
        const inherited = Object.fromEntries(
          INHERITED_ENV.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]!]),
        );
        const change = task.trigger?.event;
        // A task fired by a change trigger sees the change as PG_EVENT_TYPE, PG_EVENT_TABLE and PG_EVENT_DATA (JSON).
        const changeEnv: Record<string, string> = change
          ? { PG_EVENT_TYPE: change.type, PG_EVENT_TABLE: change.table, PG_EVENT_DATA: JSON.stringify(change) }
          : {};
        const env: Record<string, string> = {
          ...params.env,
          ...Object.fromEntries(secrets),
          ...inherited,
          HOME: workspace,
          ...resourceVariables(resources),
          ...changeEnv,
        };
        const output = new TaskOutput(config.TASK_OUTPUT_MAX_BYTES, [...secrets.values()], log);
        return await runChild(executable, params, { cwd, env, runtime, output, signal, graceMs: config.TASK_CANCEL_GRACE_MS });
      } finally {
        await runtime.removeWorkspace(workspace);
      }
    },
  };
}

function runChild(
  executable: string,
  params: ShellParams,
  options: {
    cwd: string;
    env: Record<string, string>;
    runtime: ShellRuntime;
    output: TaskOutput;
    signal: AbortSignal;
    graceMs: number;
  },
): Promise<{ exitCode: 0 }> {
  const { runtime, output, signal } = options;
  const [file, ...prefix] = [...runtime.limitPrefix, executable];
  return new Promise((resolve, reject) => {
    const child = spawn(file!, [...prefix, ...(params.args ?? [])], {
      cwd: options.cwd,
      env: options.env,
      shell: false,
      // Its own process group (and session), so a signal reaches everything it started.
      detached: true,
      uid: runtime.user?.uid,
      gid: runtime.user?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (data: Buffer) => output.write('STDOUT', data));
    child.stderr.on('data', (data: Buffer) => output.write('STDERR', data));
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.graceMs);
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    let drainTimer: NodeJS.Timeout | undefined;
    // Processes the command left behind would keep its output open and outlive the task.
    child.once('exit', () => {
      signalGroup(child.pid, 'SIGKILL');
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, OUTPUT_DRAIN_MS);
    });
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      signal.removeEventListener('abort', stop);
      output.finish();
      if (error) reject(error);
      else resolve({ exitCode: 0 });
    };
    child.once('error', (error) => {
      signalGroup(child.pid, 'SIGKILL');
      settle(new TaskFailure(`could not start ${params.command}: ${error.message}`));
    });
    child.once('close', (code, exitSignal) => {
      if (code === 0) settle();
      else
        settle(
          new TaskFailure(exitSignal ? `${params.command} was stopped by ${exitSignal}` : `${params.command} exited with code ${code}`),
        );
    });
  });
}
