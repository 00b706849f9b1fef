import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, chmodSync, statSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { delimiter, isAbsolute, join, relative, sep } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { fromProjectRoot, PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { StartupError } from '#libs/runtime';

/** The unprivileged account tasks run as. */
export interface TaskUser {
  name: string;
  uid: number;
  gid: number;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The executable `name` on the worker's own PATH (absolute folders only), as an absolute path. */
function findOnPath(name: string): string | undefined {
  const folders = (process.env.PATH ?? '').split(delimiter).filter((folder) => isAbsolute(folder));
  return folders.map((folder) => join(folder, name)).find(isExecutableFile);
}

function idOf(user: string, flag: '-u' | '-g'): number {
  try {
    return Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
  } catch {
    throw new StartupError(`TASK_RUN_AS_USER: no user "${user}" on this machine`);
  }
}

/**
 * What every shell task of this worker runs with, settled once at start: the absolute
 * path of each allow-listed executable (from the worker's own PATH, so nothing a task
 * sets can change which binary runs), the resource limits as a `prlimit` prefix, the
 * unprivileged user tasks run as, and the folder their fresh working directories go in.
 */
@Injectable()
export class ShellRuntime {
  private readonly commands = new Map<string, string>();
  /** `prlimit` and its options, put before the command; empty when no limit is set. */
  readonly limitPrefix: string[];
  readonly user: TaskUser | undefined;
  /** Parent of every task's working directory: DATA_DIR/task-work. */
  readonly workRoot: string;

  constructor(config: PlatformConfig, @Inject(PROCESS_LOGGER) logger: Logger) {
    for (const entry of config.TASK_SHELL_ALLOW.split(',').filter(Boolean)) {
      const path = isAbsolute(entry) ? (isExecutableFile(entry) ? entry : undefined) : findOnPath(entry);
      if (path) this.commands.set(entry, path);
      else logger.warn({ command: entry }, 'TASK_SHELL_ALLOW names an executable this worker does not have; its tasks fail here');
    }

    this.user = this.resolveUser(config.TASK_RUN_AS_USER);
    if (!this.user && process.getuid?.() === 0) {
      logger.warn('shell tasks run as root: set TASK_RUN_AS_USER to an unprivileged user (TASK_LIMIT_PROCESSES does not hold for root)');
    }

    const limits = [
      ['--cpu', config.TASK_LIMIT_CPU_SECONDS],
      ['--as', config.TASK_LIMIT_ADDRESS_SPACE_MB * 1024 * 1024],
      ['--nofile', config.TASK_LIMIT_OPEN_FILES],
      ['--nproc', config.TASK_LIMIT_PROCESSES],
    ] as const;
    const set = limits.filter(([, value]) => value > 0);
    if (set.length > 0) {
      const prlimit = findOnPath('prlimit');
      if (!prlimit) throw new StartupError('prlimit (util-linux) is not on PATH: install it, or set every TASK_LIMIT_* to 0');
      this.limitPrefix = [prlimit, ...set.map(([option, value]) => `${option}=${value}`), '--'];
    } else {
      this.limitPrefix = [];
    }

    this.workRoot = join(fromProjectRoot(config.DATA_DIR), 'task-work');
    mkdirSync(this.workRoot, { recursive: true });
    // The task user must reach its own folder inside, but may not list the others.
    chmodSync(this.workRoot, 0o711);
  }

  /** The absolute path this worker runs for an allow-listed `command`, if it has one. */
  executable(command: string): string | undefined {
    return this.commands.get(command);
  }

  /** A fresh, private working directory for one attempt, owned by the task user. */
  async createWorkspace(taskId: string): Promise<string> {
    const workspace = await mkdtemp(join(this.workRoot, `${taskId}-`));
    if (this.user) await chown(workspace, this.user.uid, this.user.gid);
    return workspace;
  }

  /** The folder `cwd` (relative, already checked to stay inside) in `workspace`, created for the task user. */
  async prepareCwd(workspace: string, cwd: string | undefined): Promise<string> {
    if (!cwd) return workspace;
    const target = join(workspace, cwd);
    const inside = relative(workspace, target);
    if (inside.startsWith('..') || isAbsolute(inside)) throw new Error(`cwd ${cwd} leaves the task's working directory`);
    await mkdir(target, { recursive: true });
    if (this.user) {
      let folder = workspace;
      for (const part of inside.split(sep).filter(Boolean)) {
        folder = join(folder, part);
        await chown(folder, this.user.uid, this.user.gid);
      }
    }
    return target;
  }

  async removeWorkspace(workspace: string): Promise<void> {
    await rm(workspace, { recursive: true, force: true, maxRetries: 3 });
  }

  private resolveUser(setting: string | undefined): TaskUser | undefined {
    if (!setting) return undefined;
    const uid = idOf(setting, '-u');
    const gid = idOf(setting, '-g');
    if (uid === 0 || gid === 0) throw new StartupError(`TASK_RUN_AS_USER: "${setting}" is root; name an unprivileged user`);
    const own = process.getuid?.();
    if (own !== 0 && own !== uid) {
      throw new StartupError(`TASK_RUN_AS_USER: the worker runs as uid ${own} and cannot switch to "${setting}"; run the worker as root`);
    }
    return { name: setting, uid, gid };
  }
}
