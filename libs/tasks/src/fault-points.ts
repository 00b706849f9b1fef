import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';

/** The named steps of the task tier where a fault test may stop a process (PLATFORM_FAULT_POINT). */
export const FAULT_POINTS = {
  /** A task is stored (with its enqueue-outbox entry) but its run job is not added yet. */
  afterCreateState: 'after-create-state',
  /** A task is final in Redis (with its persist-outbox entry) but not yet in Postgres. */
  afterFinishState: 'after-finish-state',
  /** A waiting task is CANCELLED (with its remove-outbox entry) but its run job is still queued. */
  afterCancelState: 'after-cancel-state',
  /** A batch of history is in Postgres but still in the persist outbox (webhooks not told yet). */
  afterHistoryWrite: 'after-history-write',
} as const;
export type FaultPoint = (typeof FAULT_POINTS)[keyof typeof FAULT_POINTS];

/**
 * Lets fault tests stop a process at an exact step that timing alone would rarely hit.
 * Off unless PLATFORM_FAULT_POINT names a point; then the n-th pass through it
 * (`name@n`, default the first) kills the process with SIGKILL, as a crash would.
 */
@Injectable()
export class FaultPoints {
  private readonly armed?: { point: string; remaining: number };

  constructor(config: PlatformConfig) {
    if (!config.PLATFORM_FAULT_POINT) return;
    const [point, count] = config.PLATFORM_FAULT_POINT.split('@');
    this.armed = { point: point!, remaining: Number(count ?? '1') };
  }

  /** Passes the point: kills this process if a fault test armed it for this pass. */
  pass(point: FaultPoint): void {
    if (this.armed?.point !== point || --this.armed.remaining > 0) return;
    process.stderr.write(`fault point ${point} reached: killing process ${process.pid}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
