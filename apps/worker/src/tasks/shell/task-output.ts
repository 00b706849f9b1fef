import { StringDecoder } from 'node:string_decoder';
import type { LogStream } from '#libs/contracts';
import { SecretMasker } from './secret-masker.js';

type OutputStream = Extract<LogStream, 'STDOUT' | 'STDERR'>;

/**
 * One task attempt's output on its way to the log: decoded, secret values masked, and
 * capped at `maxBytes`. Past the cap, output is counted and dropped (the pipe keeps being
 * drained, so the task is not blocked), and `finish` writes one SYSTEM line saying how much
 * was dropped. So a task never makes the worker hold more than `maxBytes` of its output.
 */
export class TaskOutput {
  private readonly streams: Record<OutputStream, { decoder: StringDecoder; masker: SecretMasker }>;
  private kept = 0;
  private dropped = 0;

  constructor(
    private readonly maxBytes: number,
    secretValues: string[],
    private readonly log: (stream: LogStream, text: string) => void,
  ) {
    const stream = () => ({ decoder: new StringDecoder('utf8'), masker: new SecretMasker(secretValues) });
    this.streams = { STDOUT: stream(), STDERR: stream() };
  }

  write(stream: OutputStream, data: Buffer): void {
    if (this.kept >= this.maxBytes) {
      this.dropped += data.length;
      return;
    }
    const { decoder, masker } = this.streams[stream];
    this.keep(stream, masker.push(decoder.write(data)));
  }

  /** Writes what the maskers held back, then the truncation line if anything was dropped. */
  finish(): void {
    for (const stream of ['STDOUT', 'STDERR'] as const) {
      const { decoder, masker } = this.streams[stream];
      const rest = masker.push(decoder.end()) + masker.flush();
      if (this.kept >= this.maxBytes) this.dropped += Buffer.byteLength(rest);
      else this.keep(stream, rest);
    }
    if (this.dropped > 0) {
      this.log(
        'SYSTEM',
        `output truncated: ${this.dropped} bytes past the limit of ${this.maxBytes} bytes (TASK_OUTPUT_MAX_BYTES) were dropped\n`,
      );
    }
  }

  private keep(stream: OutputStream, text: string): void {
    if (text.length === 0) return;
    // Postgres text cannot hold NUL; the rest of the output is kept as it was.
    const clean = text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
    const bytes = Buffer.from(clean, 'utf8');
    const room = this.maxBytes - this.kept;
    if (bytes.length <= room) {
      this.kept += bytes.length;
      this.log(stream, clean);
      return;
    }
    // Cut at the cap, never inside a UTF-8 sequence.
    let cut = room;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    this.kept = this.maxBytes;
    this.dropped += bytes.length - cut;
    if (cut > 0) this.log(stream, bytes.subarray(0, cut).toString('utf8'));
  }
}
