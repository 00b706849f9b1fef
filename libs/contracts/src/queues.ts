import { IsIn, IsUUID } from 'class-validator';
import type { TaskClass } from './tasks.js';

/** Every BullMQ queue of the platform; the names are part of the contract between api and worker. */
export const QueueName = {
  orgProvisioning: 'org-provisioning',
  schedules: 'schedules',
  webhookDeliveries: 'webhook-deliveries',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** The queue a task of `taskClass` waits in: one per class, so a flood of one class never holds up another. */
export const taskQueueName = (taskClass: TaskClass): string => `tasks-${taskClass}`;

export const ORG_INSTANCE_ACTIONS = ['provision', 'deprovision'] as const;
export type OrgInstanceAction = (typeof ORG_INSTANCE_ACTIONS)[number];

/** Payload of an org-provisioning job: bring one org's instance to READY, or tear it down. */
export class OrgInstanceJob {
  @IsUUID()
  orgId!: string;

  @IsIn(ORG_INSTANCE_ACTIONS)
  action!: OrgInstanceAction;
}
