import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import { PlatformConfig } from '#libs/config';
import { QueueFactory } from '#libs/redis';
import { WorkerRegistryStore, type WorkerHeartbeat as Heartbeat } from '#libs/tasks';
import { WorkerIdentity } from './worker-identity.js';

/**
 * Announces this worker and heartbeats while it lives. On shutdown it first says
 * DRAINING (it finishes what it runs and takes nothing new), then OFFLINE once done. A
 * heartbeat whose running count differs from the last one announced is announced too, so
 * clients see the count move without polling: at most one event per heartbeat interval.
 */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private announcedRunning = -1;

  constructor(
    private readonly registry: WorkerRegistryStore,
    private readonly identity: WorkerIdentity,
    private readonly config: PlatformConfig,
    private readonly queues: QueueFactory,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.beat(true);
    this.timer = setInterval(() => void this.beat(false).catch(() => undefined), this.config.WORKER_HEARTBEAT_INTERVAL_MS);
  }

  private async beat(statusChanged: boolean): Promise<void> {
    const snapshot = this.snapshot();
    const announce = statusChanged || snapshot.running !== this.announcedRunning;
    await this.registry.heartbeat(snapshot, announce);
    if (announce) this.announcedRunning = snapshot.running;
  }

  /** Drains: announces DRAINING, then waits for the running jobs while heartbeats go on. */
  async beforeApplicationShutdown(): Promise<void> {
    this.identity.draining = true;
    await this.beat(true);
    await this.queues.closeWorkers();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.registry.heartbeat({ ...this.snapshot(), stopped: true }, true);
  }

  private snapshot(): Heartbeat {
    return {
      id: this.identity.id,
      hostname: hostname(),
      pid: process.pid,
      concurrency: this.config.TASK_CONCURRENCY,
      running: this.identity.running,
      draining: this.identity.draining,
      stopped: false,
      startedAt: this.identity.startedAt,
    };
  }
}
