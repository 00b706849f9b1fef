import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { OrgTokenRepository } from './org-token.repository.js';

/**
 * Records when each API token was last used. A request only notes the time in memory; a
 * timer writes what was noted every TOKEN_LAST_USED_FLUSH_MS in one statement, so request
 * handling never waits on the control-plane database for it (not even when the token's
 * row is locked), and each token costs at most one write per interval per process.
 */
@Injectable()
export class TokenUsageRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly tokens: OrgTokenRepository,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), this.config.TOKEN_LAST_USED_FLUSH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Notes that token `tokenId` was used now; returns at once. */
  record(tokenId: string): void {
    this.pending.set(tokenId, new Date());
  }

  /** Writes what was noted; one write at a time, so a slow database never piles them up. */
  private async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.tokens
      .recordLastUsed(batch)
      .catch((error: unknown) => {
        // Put back what was lost, unless the token was used again since: the next flush retries.
        for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
        this.logger.warn({ err: error, tokens: batch.size }, 'could not record token lastUsedAt; will retry');
      })
      .finally(() => (this.flushing = undefined));
    return this.flushing;
  }
}
