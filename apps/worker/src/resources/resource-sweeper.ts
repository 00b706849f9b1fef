import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { LuaScript, RedisConnection, RedisKeys } from '#libs/redis';
import { ResourceStateStore } from '#libs/resources';

/** Leases one org's sweep ends per script run, so one org with a mass expiry cannot hold Redis for long. */
const EXPIRE_BATCH = 200;
/** The leader's claim lasts this many sweep intervals unrenewed, so a dead leader is replaced within a few ticks. */
const LEADER_INTERVALS = 3;

/** Takes the lead if free or keeps it if ours; returns 1 while we lead. */
const CLAIM_LEAD = new LuaScript<number>(
  `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) or redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`,
  1,
);

/**
 * Ends leases past their expiry, every RESOURCE_SWEEP_INTERVAL_MS, on one worker at a
 * time (a Redis lease elects it). Each expiry is a script that frees the environment and
 * says so with `resource.updated` events, like a release.
 */
@Injectable()
export class ResourceSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly id = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly store: ResourceStateStore,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  /** Ends every due lease of every org now, if this worker leads; returns how many ended. */
  async sweep(): Promise<number> {
    const lead = await CLAIM_LEAD.run(
      this.connection.client,
      this.keys.platform('resource-sweeper'),
      this.id,
      this.config.RESOURCE_SWEEP_INTERVAL_MS * LEADER_INTERVALS,
    );
    if (lead !== 1) return 0;
    let ended = 0;
    for (const orgId of await this.store.orgs()) {
      try {
        for (let batch = EXPIRE_BATCH; batch === EXPIRE_BATCH; ended += batch) batch = await this.store.expireDue(orgId, EXPIRE_BATCH);
      } catch (error) {
        this.logger.warn({ orgId, err: (error as Error).message }, 'could not expire resource leases');
      }
    }
    return ended;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep()
        .then(() => undefined)
        .catch((error: Error) => this.logger.warn({ err: error.message }, 'resource sweep failed'))
        .finally(() => this.schedule());
    }, this.config.RESOURCE_SWEEP_INTERVAL_MS);
  }
}
