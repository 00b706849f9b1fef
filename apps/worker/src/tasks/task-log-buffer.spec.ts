import { setTimeout as delay } from 'node:timers/promises';
import type { LogStream } from '#libs/contracts';
import { waitFor } from '#libs/testing';
import { TaskLogBuffer } from './task-log-buffer.js';

describe('TaskLogBuffer', () => {
  function recorder(policy: { maxBytes: number; maxDelayMs: number; idleMs: number }) {
    const chunks: { stream: LogStream; chunk: string; at: number }[] = [];
    const buffer = new TaskLogBuffer(policy, async (stream, chunk) => {
      chunks.push({ stream, chunk, at: Date.now() });
    });
    return { chunks, buffer };
  }

  it('joins bursts of output into one chunk and flushes it once output goes quiet', async () => {
    const { chunks, buffer } = recorder({ maxBytes: 10_240, maxDelayMs: 2000, idleMs: 30 });
    buffer.append('STDOUT', 'a\n');
    buffer.append('STDOUT', 'b\n');
    await waitFor('the idle flush', () => (chunks.length ? chunks : undefined));
    expect(chunks).toEqual([expect.objectContaining({ stream: 'STDOUT', chunk: 'a\nb\n' })]);
  });

  it('flushes at once when the buffer reaches its size limit', async () => {
    const { chunks, buffer } = recorder({ maxBytes: 10, maxDelayMs: 60_000, idleMs: 60_000 });
    buffer.append('STDOUT', '0123456789abc');
    await waitFor('the size flush', () => (chunks.length ? chunks : undefined), 1000);
    expect(chunks[0]!.chunk).toBe('0123456789abc');
    await buffer.close();
  });

  it('flushes output that never goes quiet at least every maxDelayMs', async () => {
    const { chunks, buffer } = recorder({ maxBytes: 10_240, maxDelayMs: 100, idleMs: 60_000 });
    const started = Date.now();
    while (chunks.length === 0 && Date.now() - started < 2000) {
      buffer.append('STDOUT', '.');
      await delay(5);
    }
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks[0]!.at - started).toBeLessThan(1000);
    await buffer.close();
  });

  it('keeps the order of interleaved streams, one stream per chunk', async () => {
    const { chunks, buffer } = recorder({ maxBytes: 10_240, maxDelayMs: 2000, idleMs: 1000 });
    buffer.append('STDOUT', 'out 1\n');
    buffer.append('STDERR', 'err 1\n');
    buffer.append('STDOUT', 'out 2\n');
    await buffer.close();
    expect(chunks.map(({ stream, chunk }) => [stream, chunk])).toEqual([
      ['STDOUT', 'out 1\n'],
      ['STDERR', 'err 1\n'],
      ['STDOUT', 'out 2\n'],
    ]);
  });
});
