import { loadPlatformConfig } from '#libs/config';
import { environmentNameProblems, isDeniedEnvironmentName } from './shell-environment.js';
import { ShellParams, shellTaskType } from './shell.task-type.js';

const config = (env: Record<string, string> = {}) => loadPlatformConfig({ LOG_LEVEL: 'silent', TASK_SHELL_ALLOW: 'echo', ...env });

function shellProblems(params: Partial<ShellParams>, env: Record<string, string> = {}): string[] {
  return shellTaskType.check!(Object.assign(new ShellParams(), { command: 'echo', ...params }), config(env));
}

describe('the shell environment deny-list', () => {
  it('refuses names that change which code runs, whatever their case, and prefixes as prefixes', () => {
    for (const name of ['PATH', 'path', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS', 'BASH_ENV', 'ENV']) {
      expect(isDeniedEnvironmentName(name)).toBe(true);
    }
    for (const name of ['PYTHONPATH', 'PERL5OPT', 'PERLLIB', 'RUBYOPT', 'GIT_SSH_COMMAND', 'GIT_CONFIG_GLOBAL', 'GLIBC_TUNABLES', 'IFS']) {
      expect(isDeniedEnvironmentName(name)).toBe(true);
    }
  });

  it('lets ordinary names and the git identity through', () => {
    for (const name of ['DEPLOY_ENV', 'NODE_ENV', 'GIT_AUTHOR_NAME', 'GIT_COMMITTER_EMAIL', 'PATHS_TO_CHECK', 'ENVIRONMENT', 'HOMEPAGE']) {
      expect(isDeniedEnvironmentName(name)).toBe(false);
    }
  });

  it('with TASK_ENV_ALLOW, refuses every name not on it, and the deny-list still applies', () => {
    const strict = config({ TASK_ENV_ALLOW: 'DEPLOY_ENV,PATH' });
    expect(environmentNameProblems(['DEPLOY_ENV'], strict, 'params.env')).toEqual([]);
    expect(environmentNameProblems(['OTHER', 'PATH'], strict, 'params.env')).toEqual([
      'params.env: variable OTHER is not in TASK_ENV_ALLOW',
      expect.stringContaining('params.env: variable PATH is refused'),
    ]);
  });
});

describe('the shell task type', () => {
  it('accepts a cwd inside the working directory', () => {
    for (const cwd of ['.', 'build', 'a/b/c', 'a/../b', './x']) expect(shellProblems({ cwd })).toEqual([]);
  });

  it('refuses "/", absolute paths and paths that climb out', () => {
    for (const cwd of ['/', '/tmp', '..', '../x', 'a/../../x', 'a/b/../../..']) {
      expect(shellProblems({ cwd })).toEqual([expect.stringMatching(/^params\.cwd: /)]);
    }
  });

  it('allows an absolute path on the allow-list, by that exact path', () => {
    expect(shellProblems({ command: '/usr/bin/env' }, { TASK_SHELL_ALLOW: '/usr/bin/env' })).toEqual([]);
    expect(shellProblems({ command: 'env' }, { TASK_SHELL_ALLOW: '/usr/bin/env' })).toEqual([expect.stringContaining('is not allowed')]);
  });

  it('names every refused env variable', () => {
    expect(shellProblems({ env: { LD_PRELOAD: 'x', FINE: 'y', NODE_OPTIONS: 'z' } })).toEqual([
      expect.stringContaining('params.env: variable LD_PRELOAD is refused'),
      expect.stringContaining('params.env: variable NODE_OPTIONS is refused'),
    ]);
  });
});
