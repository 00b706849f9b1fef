import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PlatformConfig } from '#libs/config';
import type { TaskClass } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { RelaySlots } from '#libs/realtime';
import type { OrgClaims } from '#libs/registry';
import { TaskTypeCatalog } from '#libs/tasks';
import { TriggerFeed } from './trigger-feed.js';
import { TriggerRepository, type Trigger, type TriggerEvent, type TriggerRun } from './trigger.repository.js';
import { InvalidInputError, NotFoundError } from '#libs/contracts';

export class TriggerNotFoundError extends NotFoundError {
  override name = 'TriggerNotFoundError';
}

/** A trigger that cannot be: its table is not there (or not published), or its task does not fit its type. */
export class InvalidTriggerError extends InvalidInputError {
  override name = 'InvalidTriggerError';
}

export interface NewTrigger {
  name: string;
  table: string;
  events: TriggerEvent[];
  filter?: Record<string, unknown>;
  task: { type: string; params?: Record<string, unknown>; class?: TaskClass };
}

/** Change triggers: run a task whenever a matching row of an org table changes. */
@Injectable()
export class TriggerService {
  constructor(
    private readonly triggers: TriggerRepository,
    private readonly feed: TriggerFeed,
    private readonly catalog: TaskTypeCatalog,
    private readonly config: PlatformConfig,
    private readonly slots: RelaySlots,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  async create(claims: OrgClaims, input: NewTrigger): Promise<Trigger> {
    const problems: string[] = [];
    if (!(await this.triggers.isPublished(claims, input.table))) {
      problems.push(`table "${input.table}" does not exist in the organization database or is not published`);
    }
    const { params, problems: taskProblems } = this.catalog.checkTemplate(input.task.type, input.task.params ?? {});
    problems.push(...taskProblems);
    if (problems.length) throw new InvalidTriggerError(problems);
    // Changes from here on reach the trigger workers, even before the trigger row is visible to them,
    // and the org's changes are captured from here on, even while its relay starts a poll later.
    await this.feed.watch(claims.org_id);
    const capture = await this.slots.capture(claims.org_id);
    if (capture.state === 'no-capacity' || capture.state === 'busy') {
      // Visible in the org's realtime state; the trigger fires for changes relayed once capacity is there.
      this.logger.warn({ org: claims.org_id, capture }, 'trigger created while its org database changes are not yet captured');
    }
    return this.triggers.insert(
      claims,
      {
        id: randomUUID(),
        name: input.name,
        table: input.table,
        events: [...new Set(input.events)],
        filter: input.filter ?? {},
        task: { type: input.task.type, params, class: input.task.class ?? 'normal' },
      },
      { max: this.config.QUOTA_TRIGGERS, setting: 'QUOTA_TRIGGERS', what: 'triggers' },
    );
  }

  list(claims: OrgClaims): Promise<Trigger[]> {
    return this.triggers.list(claims);
  }

  async setEnabled(claims: OrgClaims, id: string, enabled: boolean): Promise<Trigger> {
    const trigger = await this.triggers.setEnabled(claims, id, enabled);
    if (!trigger) throw new TriggerNotFoundError(`no trigger ${id}`);
    return trigger;
  }

  async delete(claims: OrgClaims, id: string): Promise<void> {
    if (!(await this.triggers.delete(claims, id))) throw new TriggerNotFoundError(`no trigger ${id}`);
  }

  async runs(claims: OrgClaims, id: string, limit: number): Promise<TriggerRun[]> {
    if (!(await this.triggers.find(claims, id))) throw new TriggerNotFoundError(`no trigger ${id}`);
    return this.triggers.runs(claims, id, limit);
  }
}
