import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { PlatformConfig } from '#libs/config';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { closeRedis, RedisConnection } from '#libs/redis';
import { TaskService } from '#libs/tasks';
import { InvalidInputError, type PlatformEvent } from '#libs/contracts';
import { rowChangeOf, triggerMatches, TriggerFeed, TriggerRepository } from '#libs/triggers';

/** Stream entries read per org at once. */
const READ_COUNT = 100;
/** How long one read waits for changes; it also bounds how long shutdown waits for the loop. */
const READ_BLOCK_MS = 1000;

/**
 * Reads the org event streams of orgs with triggers (as one consumer of a group shared by
 * all workers) and creates a task for every trigger a row change matches. The task's
 * idempotency key names the trigger and the change, so a change delivered twice — the
 * relay replaying after a failover, a worker dying before it acknowledged — fires once.
 */
@Injectable()
export class TriggerDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private connection: Redis | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  /**
   * Orgs whose changes failed to be handled here: when this consumer tries its own
   * unacknowledged changes of that org again, and the pause it waited last (doubling from a
   * second up to TRIGGER_RECLAIM_AFTER_MS while they keep failing). Other orgs go on meanwhile.
   */
  private readonly retries = new Map<string, { at: number; pauseMs: number }>();

  constructor(
    private readonly feed: TriggerFeed,
    private readonly triggers: TriggerRepository,
    private readonly tasks: TaskService,
    private readonly redis: RedisConnection,
    private readonly config: PlatformConfig,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.connection = this.redis.duplicate();
    this.running = true;
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.connection) await closeRedis(this.connection, this.config.CONNECT_TIMEOUT_MS);
  }

  private async run(): Promise<void> {
    let lastReclaim = Date.now();
    while (this.running) {
      try {
        const orgs = await this.feed.watchedOrgs();
        if (orgs.length === 0) {
          await delay(READ_BLOCK_MS);
          continue;
        }
        await this.retryFailed();
        for (const { orgId, events } of await this.feed.read(this.connection!, this.consumer, orgs, READ_COUNT, READ_BLOCK_MS)) {
          await this.handleOrRetry(orgId, () => Promise.resolve(events));
        }
        if (Date.now() - lastReclaim >= this.config.TRIGGER_RECLAIM_AFTER_MS) {
          lastReclaim = Date.now();
          for (const orgId of orgs) {
            await this.handleOrRetry(orgId, () =>
              this.feed.reclaim(orgId, this.consumer, this.config.TRIGGER_RECLAIM_AFTER_MS, READ_COUNT),
            );
          }
        }
      } catch (error) {
        // Reading failed (Redis): nothing was taken, or what was stays pending for the reclaim.
        this.logger.warn({ err: (error as Error).message }, 'reading changes for triggers failed; retrying');
        await delay(READ_BLOCK_MS);
      }
    }
  }

  /** Tries again the own unacknowledged changes of each org whose pause after a failure is over. */
  private async retryFailed(): Promise<void> {
    for (const [orgId, retry] of this.retries) {
      if (Date.now() < retry.at) continue;
      const handled = await this.handleOrRetry(orgId, () => this.feed.ownPending(orgId, this.consumer, READ_COUNT));
      // A full batch may have more behind it: the next pass reads on.
      if (handled !== undefined) {
        if (handled < READ_COUNT) this.retries.delete(orgId);
        else this.retries.set(orgId, { at: 0, pauseMs: 0 });
      }
    }
  }

  /**
   * Handles the org's changes `take` gives; returns how many, or undefined when that failed.
   * A failure leaves them unacknowledged (pending for this consumer, reclaimed by another if
   * this one dies) and schedules this consumer's next try of them: a database or Redis
   * hiccup delays a trigger by a second, not by TRIGGER_RECLAIM_AFTER_MS, and a change that
   * keeps failing holds back neither the org's later changes nor other orgs.
   */
  private async handleOrRetry(orgId: string, take: () => Promise<PlatformEvent[]>): Promise<number | undefined> {
    try {
      const events = await take();
      await this.handle(orgId, events);
      return events.length;
    } catch (error) {
      const previous = this.retries.get(orgId)?.pauseMs ?? 0;
      const pauseMs = Math.min(Math.max(READ_BLOCK_MS, previous * 2), this.config.TRIGGER_RECLAIM_AFTER_MS);
      this.retries.set(orgId, { at: Date.now() + pauseMs, pauseMs });
      this.logger.warn({ org: orgId, err: (error as Error).message, retryInMs: pauseMs }, 'trigger dispatch failed; retrying');
      return undefined;
    }
  }

  private async handle(orgId: string, events: PlatformEvent[]): Promise<void> {
    if (events.length === 0) return;
    const changes = events.map(rowChangeOf);
    const triggers = changes.some(Boolean) ? await this.triggers.listEnabled(orgId) : [];
    for (const change of changes) {
      if (!change) continue;
      for (const trigger of triggers.filter((candidate) => triggerMatches(candidate, change.event))) {
        // The trigger acts as a member of its org: its tasks are read back under the org's RLS.
        const claims = { sub: trigger.id, role: 'authenticated' as const, org_id: orgId, app_role: 'member' as const };
        const run = { triggerId: trigger.id, changeKey: change.changeKey, eventType: change.event.type };
        try {
          const { task } = await this.tasks.create(claims, {
            ...trigger.task,
            trigger: { triggerId: trigger.id, event: change.event },
            idempotencyKey: `trigger-${trigger.id}-${change.changeKey}`.replace(/[^\w.:-]/g, '.'),
          });
          await this.triggers.recordRun(orgId, { ...run, taskId: task.id });
        } catch (error) {
          // Its task no longer validates (a command taken off the allow-list, say): trying again cannot help.
          // Recorded as a run without a task and acknowledged with the rest; anything else is tried again.
          if (!(error instanceof InvalidInputError)) throw error;
          this.logger.warn({ org: orgId, trigger: trigger.id, err: error.message }, 'trigger made no task: its task is invalid');
          await this.triggers.recordRun(orgId, { ...run, taskId: null, error: error.message });
        }
      }
    }
    await this.feed.ack(
      orgId,
      events.map((event) => event.id),
    );
  }
}
