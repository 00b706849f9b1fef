import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { RedisConnection, RedisKeys } from '#libs/redis';
import { OrgEventStream } from '#libs/event-stream';

/** Stream keys asked of SCAN per round trip while trimming. */
const SCAN_BATCH = 200;

/**
 * Trims every org event stream by age (XTRIM MINID) every EVENT_STREAM_TRIM_INTERVAL_MS.
 * Each round is done by one process only: whichever takes that round's Redis lock.
 */
@Injectable()
export class EventStreamTrimmer implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly owner = randomUUID();

  constructor(
    private readonly stream: OrgEventStream,
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.trimIfElected()
        .then(() => undefined)
        .catch((error: Error) => this.logger.warn({ err: error }, 'trimming event streams failed; next round retries'))
        .finally(() => (this.running = undefined));
    }, this.config.EVENT_STREAM_TRIM_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Trims every stream if this process won this round's lock; returns the number of events dropped, or undefined when not elected. */
  async trimIfElected(): Promise<number | undefined> {
    // The lock outlives the round by design: it expires just before the next round, so each round has one trimmer.
    const elected = await this.redis.client.set(
      this.keys.platform('event-stream-trimmer'),
      this.owner,
      'PX',
      Math.max(1, this.config.EVENT_STREAM_TRIM_INTERVAL_MS - 50),
      'NX',
    );
    if (!elected) return undefined;
    let dropped = 0;
    for await (const orgId of this.stream.orgsWithStreams(SCAN_BATCH)) {
      dropped += await this.stream.trimOlderThan(orgId, this.config.EVENT_STREAM_MAX_AGE_SECONDS * 1000);
    }
    if (dropped > 0) this.logger.debug({ dropped }, 'trimmed old events from the event streams');
    return dropped;
  }
}
