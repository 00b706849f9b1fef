import type { LogStream } from '#libs/contracts';
import { TaskOutput } from './task-output.js';

function collect() {
  const lines: { stream: LogStream; text: string }[] = [];
  return { lines, log: (stream: LogStream, text: string) => lines.push({ stream, text }) };
}

describe('TaskOutput', () => {
  it('keeps output up to the cap, drops the rest and says how much in one SYSTEM line at the end', () => {
    const { lines, log } = collect();
    const output = new TaskOutput(1024, [], log);
    for (let i = 0; i < 100; i++) output.write('STDOUT', Buffer.alloc(100, 'y'));
    output.finish();
    const kept = lines.filter((line) => line.stream === 'STDOUT').map((line) => line.text);
    expect(kept.join('').length).toBe(1024);
    expect(lines.filter((line) => line.stream === 'SYSTEM')).toEqual([
      { stream: 'SYSTEM', text: 'output truncated: 8976 bytes past the limit of 1024 bytes (TASK_OUTPUT_MAX_BYTES) were dropped\n' },
    ]);
    expect(lines.at(-1)!.stream).toBe('SYSTEM');
  });

  it('writes no SYSTEM line when everything fits', () => {
    const { lines, log } = collect();
    const output = new TaskOutput(1024, [], log);
    output.write('STDOUT', Buffer.from('hello\n'));
    output.write('STDERR', Buffer.from('oops\n'));
    output.finish();
    expect(lines).toEqual([
      { stream: 'STDOUT', text: 'hello\n' },
      { stream: 'STDERR', text: 'oops\n' },
    ]);
  });

  it('masks secrets per stream, also split across writes', () => {
    const { lines, log } = collect();
    const output = new TaskOutput(1024, ['pa55word'], log);
    output.write('STDOUT', Buffer.from('pw=pa5'));
    output.write('STDERR', Buffer.from('err pa55word\n'));
    output.write('STDOUT', Buffer.from('5word\n'));
    output.finish();
    const all = lines.map((line) => line.text).join('');
    expect(all).not.toContain('pa55word');
    expect(
      lines
        .filter((line) => line.stream === 'STDOUT')
        .map((line) => line.text)
        .join(''),
    ).toBe('pw=***\n');
    expect(
      lines
        .filter((line) => line.stream === 'STDERR')
        .map((line) => line.text)
        .join(''),
    ).toBe('err ***\n');
  });

  it('decodes a character split across writes, and never cuts one at the cap', () => {
    const { lines, log } = collect();
    const euro = Buffer.from('€'); // 3 bytes
    const output = new TaskOutput(1024, [], log);
    output.write('STDOUT', Buffer.concat([Buffer.alloc(1022, 'a'), euro.subarray(0, 1)]));
    output.write('STDOUT', euro.subarray(1));
    output.finish();
    const kept = lines
      .filter((line) => line.stream === 'STDOUT')
      .map((line) => line.text)
      .join('');
    expect(kept).toBe('a'.repeat(1022));
    expect(lines.at(-1)!.text).toContain('3 bytes past the limit');
  });

  it('replaces NUL, which Postgres text cannot hold', () => {
    const { lines, log } = collect();
    const output = new TaskOutput(1024, [], log);
    output.write('STDOUT', Buffer.from('a\0b'));
    output.finish();
    expect(lines).toEqual([{ stream: 'STDOUT', text: 'a\uFFFDb' }]);
  });
});
