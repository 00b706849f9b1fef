import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { PlatformConfig } from '#libs/config';

/**
 * How busy this process's event loop is: its utilisation (the share of wall time it spent
 * running callbacks rather than waiting for I/O) over the last API_LOOP_SAMPLE_MS, sampled
 * on a timer rather than per request, so asking costs nothing. At or above
 * API_LOOP_BUSY_PERCENT it is `busy`: every request then waits for its turn on the loop.
 */
@Injectable()
export class EventLoopLoad implements OnModuleInit, OnModuleDestroy {
  /** Utilisation over the last sample, 0 to 1. */
  utilization = 0;
  private last?: EventLoopUtilization;
  private timer?: NodeJS.Timeout;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly config: PlatformConfig) {}

  onModuleInit(): void {
    this.last = performance.eventLoopUtilization();
    this.timer = setInterval(() => this.sample(), this.config.API_LOOP_SAMPLE_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Whether the last sample was at or above API_LOOP_BUSY_PERCENT. */
  get busy(): boolean {
    return this.utilization * 100 >= this.config.API_LOOP_BUSY_PERCENT;
  }

  /** Calls `listener` after every sample. */
  onSample(listener: () => void): void {
    this.listeners.push(listener);
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    this.utilization = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
    for (const listener of this.listeners) listener();
  }
}
