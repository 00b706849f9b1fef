/** What the command line asks for. */
export type CliCommand =
  { kind: 'run'; type: string; params: Record<string, unknown> } | { kind: 'watch'; taskId: string } | { kind: 'help' };

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage:
  platform tasks run <type> [--param key=value ...]   create a task, stream its logs, exit with its outcome
  platform tasks run shell -- <command> [args ...]     the same for a shell task running <command>
  platform tasks watch <id>                            stream an existing task until it finishes
environment: PLATFORM_URL (e.g. http://127.0.0.1:3000) and PLATFORM_TOKEN (an org API token)
exit status: 0 when the task ends SUCCESS, 1 when it ends otherwise, 2 on a usage or connection error`;

/** A --param value: JSON when it parses (numbers, booleans, arrays), else the text itself. */
function paramValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Reads the arguments after the program name. */
export function parseCliArguments(argv: string[]): CliCommand {
  const [group, action, ...rest] = argv;
  if (!group || group === 'help' || group === '--help' || group === '-h') return { kind: 'help' };
  if (group !== 'tasks') throw new UsageError(`unknown command ${group}`);
  if (action === 'watch') {
    if (rest.length !== 1) throw new UsageError('tasks watch takes one task id');
    return { kind: 'watch', taskId: rest[0]! };
  }
  if (action !== 'run') throw new UsageError(`unknown tasks command ${action ?? '(none)'}`);
  const [type, ...options] = rest;
  if (!type || type.startsWith('-')) throw new UsageError('tasks run needs a task type');
  const params: Record<string, unknown> = {};
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!;
    if (option === '--') {
      const [command, ...args] = options.slice(i + 1);
      if (!command) throw new UsageError('-- must be followed by a command');
      Object.assign(params, { command, args });
      break;
    }
    const inline = option.startsWith('--param=') ? option.slice('--param='.length) : undefined;
    if (option !== '--param' && inline === undefined) throw new UsageError(`unknown option ${option}`);
    const pair = inline ?? options[++i];
    const equals = pair?.indexOf('=') ?? -1;
    if (!pair || equals < 1) throw new UsageError('--param takes key=value');
    params[pair.slice(0, equals)] = paramValue(pair.slice(equals + 1));
  }
  return { kind: 'run', type, params };
}
