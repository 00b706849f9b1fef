import { spawn } from 'node:child_process';
import type { ShellParams } from '#libs/tasks';
import { TaskFailure, type TaskHandler } from '../task-handler.js';
import { resourceVariables } from '../task-leases.js';

/** Variables a shell task inherits from the worker unless it sets them itself; nothing secret. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TZ'];

/**
 * Runs an allow-listed executable with an argument array (never through a shell).
 * Aborting (cancel, timeout) sends SIGTERM, then SIGKILL after TASK_CANCEL_GRACE_MS.
 */
export function shellHandler(cancelGraceMs: number): TaskHandler<ShellParams> {
  return {
    type: 'shell',
    run({ task, params, log, signal, resources }) {
      const env = Object.fromEntries(
        INHERITED_ENV.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]!]),
      );
      const change = task.trigger?.event;
      // A task fired by a change trigger sees the change as PG_EVENT_TYPE, PG_EVENT_TABLE and PG_EVENT_DATA (JSON).
      const changeEnv = change ? { PG_EVENT_TYPE: change.type, PG_EVENT_TABLE: change.table, PG_EVENT_DATA: JSON.stringify(change) } : {};
      return new Promise((resolve, reject) => {
        const child = spawn(params.command, params.args ?? [], {
          cwd: params.cwd,
          env: { ...env, ...resourceVariables(resources), ...params.env, ...changeEnv },
          shell: false,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.setEncoding('utf8').on('data', (text: string) => log('STDOUT', text));
        child.stderr.setEncoding('utf8').on('data', (text: string) => log('STDERR', text));
        let killTimer: NodeJS.Timeout | undefined;
        const stop = () => {
          child.kill('SIGTERM');
          killTimer = setTimeout(() => child.kill('SIGKILL'), cancelGraceMs);
        };
        if (signal.aborted) stop();
        else signal.addEventListener('abort', stop, { once: true });
        child.once('error', (error) => reject(new TaskFailure(`could not start ${params.command}: ${error.message}`)));
        child.once('close', (code, exitSignal) => {
          clearTimeout(killTimer);
          signal.removeEventListener('abort', stop);
          if (code === 0) resolve({ exitCode: 0 });
          else
            reject(
              new TaskFailure(exitSignal ? `${params.command} was stopped by ${exitSignal}` : `${params.command} exited with code ${code}`),
            );
        });
      });
    },
  };
}
