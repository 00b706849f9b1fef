import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { EventType, PLATFORM_EVENTS_ORG, Topic, type WorkerView } from '#libs/contracts';
import { OrgEventStream } from '#libs/event-stream';
import { RedisConnection, RedisKeys } from '#libs/redis';

/** What a worker reports of itself at each heartbeat. */
export interface WorkerHeartbeat {
  id: string;
  hostname: string;
  pid: number;
  concurrency: number;
  running: number;
  draining: boolean;
  /** Set by a worker's last heartbeat as it exits, so it shows OFFLINE at once. */
  stopped: boolean;
  startedAt: string;
}

/** Workers gone for this many offline windows are dropped from the list. */
const FORGET_AFTER_OFFLINE_WINDOWS = 360;

/** The worker registry in Redis: heartbeats in, ONLINE / DRAINING / OFFLINE out. */
@Injectable()
export class WorkerRegistryStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly config: PlatformConfig,
    private readonly events: OrgEventStream,
  ) {}

  /** Records a heartbeat; with `announce` (a change of status or of the running count) it is also a `worker.updated` event. */
  async heartbeat(worker: WorkerHeartbeat, announce: boolean): Promise<void> {
    const now = Date.now();
    const record = { ...worker, lastHeartbeatAt: new Date(now).toISOString() };
    const forgetAfterSeconds = Math.ceil((this.config.WORKER_OFFLINE_AFTER_MS * FORGET_AFTER_OFFLINE_WINDOWS) / 1000);
    await this.redis.client
      .multi()
      .set(this.keys.platform('worker', worker.id), JSON.stringify(record), 'EX', forgetAfterSeconds)
      .zadd(this.keys.platform('workers'), now, worker.id)
      .zremrangebyscore(this.keys.platform('workers'), '-inf', now - forgetAfterSeconds * 1000)
      .exec();
    if (announce) {
      await this.events.append(PLATFORM_EVENTS_ORG, {
        type: EventType.workerUpdated,
        topic: Topic.worker(worker.id),
        at: record.lastHeartbeatAt,
        data: this.toView(record, now),
      });
    }
  }

  /** Every known worker, newest heartbeat first. */
  async list(): Promise<WorkerView[]> {
    const ids = await this.redis.client.zrevrange(this.keys.platform('workers'), 0, -1);
    if (ids.length === 0) return [];
    const records = await this.redis.client.mget(ids.map((id) => this.keys.platform('worker', id)));
    const now = Date.now();
    return records
      .filter((raw): raw is string => raw !== null)
      .map((raw) => this.toView(JSON.parse(raw) as WorkerHeartbeat & { lastHeartbeatAt: string }, now));
  }

  private toView(record: WorkerHeartbeat & { lastHeartbeatAt: string }, now: number): WorkerView {
    const offline = record.stopped || now - Date.parse(record.lastHeartbeatAt) > this.config.WORKER_OFFLINE_AFTER_MS;
    return {
      id: record.id,
      status: offline ? 'OFFLINE' : record.draining ? 'DRAINING' : 'ONLINE',
      hostname: record.hostname,
      pid: record.pid,
      concurrency: record.concurrency,
      running: offline ? 0 : record.running,
      startedAt: record.startedAt,
      lastHeartbeatAt: record.lastHeartbeatAt,
    };
  }
}
