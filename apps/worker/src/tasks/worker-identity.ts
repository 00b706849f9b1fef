import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** This worker process's id, as shown by GET /v1/workers and recorded on the tasks it runs. */
@Injectable()
export class WorkerIdentity {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly startedAt = new Date().toISOString();
  draining = false;
  private runningNow = 0;
  private readonly runningChanged: (() => void)[] = [];

  /** Tasks running now in this process. */
  get running(): number {
    return this.runningNow;
  }

  /** A task started (+1) or ended (-1) here; whoever announces the count is told. */
  countRunning(change: 1 | -1): void {
    this.runningNow += change;
    for (const listener of this.runningChanged) listener();
  }

  onRunningChanged(listener: () => void): void {
    this.runningChanged.push(listener);
  }
}
