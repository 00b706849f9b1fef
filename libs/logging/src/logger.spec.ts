import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { fromProjectRoot } from '#libs/config';
import { createLogger, defaultLogDestination } from './logger.js';

/** A stream that says whether it is a terminal, as process.stdout does, and keeps what is written. */
function output(isTTY: boolean): PassThrough & { isTTY: boolean; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return Object.assign(stream, { text: () => Buffer.concat(chunks).toString('utf8') });
}

describe('process logs', () => {
  it('reads as text on a terminal: time, level, component and message on one line, fields after it', async () => {
    const terminal = output(true);
    const logger = createLogger('platform', 'info', defaultLogDestination(terminal));
    logger.info({ port: 3000 }, 'listening');
    await new Promise((resolve) => setImmediate(resolve));
    // Colours are ANSI escapes around the parts; without them the line reads plainly.
    // eslint-disable-next-line no-control-regex
    const text = terminal.text().replace(/\u001b\[[0-9;]*m/g, '');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: platform · listening\n {4}port: 3000\n$/);
  });

  it('is one JSON object per line when stdout is not a terminal', async () => {
    expect(defaultLogDestination(output(false))).toBeUndefined();
    // A real process whose stdout is a pipe, as under a process manager or in a container.
    const script = `import { createLogger } from '#libs/logging'; createLogger('worker', 'info').info({ jobs: 2 }, 'ready');`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: fromProjectRoot('.') });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual(expect.objectContaining({ level: 30, component: 'worker', jobs: 2, msg: 'ready' }));
  });
});
