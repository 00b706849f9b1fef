import { Injectable } from '@nestjs/common';
import { RedisConnection, RedisKeys } from '#libs/redis';

/** Carries "cancel this running task" from any API replica to whichever worker runs it (Redis pub/sub). */
@Injectable()
export class TaskCancellations {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
  ) {}

  get channel(): string {
    return this.keys.platform('task-cancellations');
  }

  async publish(orgId: string, taskId: string): Promise<void> {
    await this.redis.client.publish(this.channel, JSON.stringify({ orgId, taskId }));
  }
}
