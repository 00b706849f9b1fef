export type WorkerStatus = 'ONLINE' | 'DRAINING' | 'OFFLINE';

/** A worker as GET /v1/workers and `worker.updated` events show it. */
export interface WorkerView {
  id: string;
  status: WorkerStatus;
  hostname: string;
  pid: number;
  concurrency: number;
  running: number;
  startedAt: string;
  lastHeartbeatAt: string;
}
