import type { LogStream } from '#libs/contracts';

export interface LogFlushPolicy {
  /** Flush when this many bytes wait. */
  maxBytes: number;
  /** Flush when the oldest waiting output is this old. */
  maxDelayMs: number;
  /** Flush when no output came for this long. */
  idleMs: number;
}

/**
 * Buffers one task's output into chunks: flushed at `maxBytes`, after `maxDelayMs`, when
 * output goes quiet for `idleMs`, and whenever the stream changes (so STDOUT and STDERR
 * keep their order). Chunks are handed to `write` one at a time, in order.
 */
export class TaskLogBuffer {
  private stream: LogStream | undefined;
  private text = '';
  private idleTimer: NodeJS.Timeout | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly policy: LogFlushPolicy,
    private readonly write: (stream: LogStream, chunk: string) => Promise<unknown>,
  ) {}

  append(stream: LogStream, text: string): void {
    if (text.length === 0) return;
    if (this.stream !== stream) this.flush();
    if (!this.text) {
      this.ageTimer = setTimeout(() => this.flush(), this.policy.maxDelayMs);
    }
    this.stream = stream;
    this.text += text;
    clearTimeout(this.idleTimer);
    if (Buffer.byteLength(this.text) >= this.policy.maxBytes) this.flush();
    else this.idleTimer = setTimeout(() => this.flush(), this.policy.idleMs);
  }

  /** Flushes what waits and resolves once every chunk so far is written; rejects if a write failed. */
  async close(): Promise<void> {
    this.flush();
    await this.writing;
    if (this.failure) throw this.failure;
  }

  private flush(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.ageTimer);
    if (!this.text || !this.stream) return;
    const [stream, chunk] = [this.stream, this.text];
    this.text = '';
    this.writing = this.writing
      .then(() => this.write(stream, chunk).then(() => undefined))
      .catch((error: unknown) => {
        this.failure ??= error;
      });
  }
}
