import type { PlatformConfig } from '#libs/config';

/**
 * Environment variable names a task may never set (through `env` or as a secret's name),
 * compared without regard to case; a trailing `*` matches any suffix. Each one can change
 * which code a process loads or runs, or where it reads its configuration from, so
 * allowing it would turn any allow-listed executable into "run anything":
 * - search paths and the loader: PATH, HOME, LD_*, DYLD_*, GCONV_PATH, GLIBC_TUNABLES,
 *   MALLOC_*, LOCPATH, NLSPATH, HOSTALIASES, RESOLV_HOST_CONF;
 * - shells: SHELL, ENV, BASH_ENV, BASH_FUNC_*, SHELLOPTS, BASHOPTS, IFS, CDPATH,
 *   GLOBIGNORE, PS4, PROMPT_COMMAND;
 * - language runtimes: NODE_OPTIONS, NODE_PATH, NODE_REPL_EXTERNAL_MODULE, PYTHON*,
 *   PERL*, RUBY*, GEM_*, JAVA_TOOL_OPTIONS, _JAVA_OPTIONS, JDK_JAVA_OPTIONS, CLASSPATH,
 *   NPM_CONFIG_*, OPENSSL_CONF, OPENSSL_ENGINES;
 * - programs other programs start: GIT_* (except the author and committer identity),
 *   SSH_ASKPASS, SSH_AUTH_SOCK, EDITOR, VISUAL, PAGER, MANPAGER, LESSOPEN, LESSCLOSE,
 *   XDG_CONFIG_HOME, XDG_CONFIG_DIRS;
 * - the platform's own: PLATFORM_*, PG_EVENT_*.
 */
export const DENIED_ENVIRONMENT_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'LD_*',
  'DYLD_*',
  'GCONV_PATH',
  'GLIBC_TUNABLES',
  'MALLOC_*',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'SHELL',
  'ENV',
  'BASH_ENV',
  'BASH_FUNC_*',
  'SHELLOPTS',
  'BASHOPTS',
  'IFS',
  'CDPATH',
  'GLOBIGNORE',
  'PS4',
  'PROMPT_COMMAND',
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'PYTHON*',
  'PERL*',
  'RUBY*',
  'GEM_*',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'NPM_CONFIG_*',
  'OPENSSL_CONF',
  'OPENSSL_ENGINES',
  'GIT_*',
  'SSH_ASKPASS',
  'SSH_AUTH_SOCK',
  'EDITOR',
  'VISUAL',
  'PAGER',
  'MANPAGER',
  'LESSOPEN',
  'LESSCLOSE',
  'XDG_CONFIG_HOME',
  'XDG_CONFIG_DIRS',
  'PLATFORM_*',
  'PG_EVENT_*',
];

/** Git variables that only name who made a commit: harmless, and wanted by deploy tasks. */
const ALLOWED_GIT_NAMES = new Set([
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_AUTHOR_DATE',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_COMMITTER_DATE',
]);

/** Whether the deny-list refuses `name`, whatever TASK_ENV_ALLOW says. */
export function isDeniedEnvironmentName(name: string): boolean {
  const upper = name.toUpperCase();
  if (ALLOWED_GIT_NAMES.has(upper)) return false;
  return DENIED_ENVIRONMENT_NAMES.some((pattern) => (pattern.endsWith('*') ? upper.startsWith(pattern.slice(0, -1)) : upper === pattern));
}

/**
 * Why each of `names` may not be set in a task's environment (the deny-list, then the
 * opt-in TASK_ENV_ALLOW), one message per refused name, prefixed with `field`.
 */
export function environmentNameProblems(names: string[], config: PlatformConfig, field: string): string[] {
  const allowed = config.TASK_ENV_ALLOW ? new Set(config.TASK_ENV_ALLOW.split(',')) : undefined;
  return names.flatMap((name) => {
    if (isDeniedEnvironmentName(name))
      return [
        `${field}: variable ${name} is refused, since it could change which code runs (see the deny-list in the README's Security section)`,
      ];
    if (allowed && !allowed.has(name)) return [`${field}: variable ${name} is not in TASK_ENV_ALLOW`];
    return [];
  });
}
