import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import { PlatformConfig } from '#libs/config';
import { QueueFactory } from '#libs/redis';
import { WorkerRegistryStore, type WorkerHeartbeat as Heartbeat } from '#libs/tasks';
import { WorkerIdentity } from './worker-identity.js';

/**
 * Announces this worker and heartbeats while it lives. On shutdown it first says
 * DRAINING (it finishes what it runs and takes nothing new), then OFFLINE once done. When
 * its running count changes, the new count is announced at once if the last announcement
 * is a heartbeat interval old, else when it is (if the count still differs then), so
 * clients see the count move without polling, a task start within an interval, and at
 * most one such event per heartbeat interval.
 */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private announcedRunning = -1;
  private announcedAt = 0;
  private pending: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: WorkerRegistryStore,
    private readonly identity: WorkerIdentity,
    private readonly config: PlatformConfig,
    private readonly queues: QueueFactory,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.beat(true);
    this.timer = setInterval(() => void this.beat(false).catch(() => undefined), this.config.WORKER_HEARTBEAT_INTERVAL_MS);
    this.identity.onRunningChanged(() => this.runningChanged());
  }

  private async beat(statusChanged: boolean): Promise<void> {
    const snapshot = this.snapshot();
    const announce = statusChanged || snapshot.running !== this.announcedRunning;
    if (announce) {
      this.announcedRunning = snapshot.running;
      this.announcedAt = Date.now();
    }
    try {
      await this.registry.heartbeat(snapshot, announce);
    } catch (error) {
      // Not announced after all: the next heartbeat tries again.
      if (announce) this.announcedRunning = -1;
      throw error;
    }
  }

  /** The running count moved: announce it now, or once the last announcement is an interval old. */
  private runningChanged(): void {
    if (this.pending || this.identity.running === this.announcedRunning) return;
    const wait = Math.max(0, this.announcedAt + this.config.WORKER_HEARTBEAT_INTERVAL_MS - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      if (this.identity.running !== this.announcedRunning) void this.beat(false).catch(() => undefined);
    }, wait);
    this.pending.unref();
  }

  /** Drains: announces DRAINING, then waits for the running jobs while heartbeats go on. */
  async beforeApplicationShutdown(): Promise<void> {
    this.identity.draining = true;
    await this.beat(true);
    await this.queues.closeWorkers();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.pending);
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
