import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** This worker process's id, as shown by GET /v1/workers and recorded on the tasks it runs. */
@Injectable()
export class WorkerIdentity {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly startedAt = new Date().toISOString();
  /** Tasks running now in this process. */
  running = 0;
  draining = false;
}
