import { parseCliArguments, UsageError } from './cli-arguments.js';

describe('parseCliArguments', () => {
  it('reads a task type with --param pairs, JSON values where they parse', () => {
    expect(parseCliArguments(['tasks', 'run', 'sleep', '--param', 'ms=50', '--param=label=a=b'])).toEqual({
      kind: 'run',
      type: 'sleep',
      params: { ms: 50, label: 'a=b' },
    });
  });

  it('takes everything after -- as the shell command and its arguments', () => {
    expect(parseCliArguments(['tasks', 'run', 'shell', '--', 'sh', '-c', 'echo --param x'])).toEqual({
      kind: 'run',
      type: 'shell',
      params: { command: 'sh', args: ['-c', 'echo --param x'] },
    });
  });

  it('reads tasks watch and help', () => {
    expect(parseCliArguments(['tasks', 'watch', 'abc'])).toEqual({ kind: 'watch', taskId: 'abc' });
    expect(parseCliArguments([])).toEqual({ kind: 'help' });
  });

  it('refuses what it does not know with a UsageError', () => {
    for (const argv of [
      ['pools'],
      ['tasks', 'fly'],
      ['tasks', 'run'],
      ['tasks', 'run', 'noop', '--param', 'novalue'],
      ['tasks', 'run', 'noop', '-x'],
    ]) {
      expect(() => parseCliArguments(argv)).toThrow(UsageError);
    }
  });
});
