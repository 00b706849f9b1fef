import type { TaskLogChunk, TaskView } from '#libs/contracts';
import { PlatformApi } from './platform-api.js';
import { RealtimeClient, type RealtimeCredential, type RealtimeSubscription, type SubscribeRequest } from './realtime-client.js';

/** The snapshot of a `task` subscription. */
export interface TaskSnapshot {
  task: TaskView;
  logs: TaskLogChunk[];
  logsNext: number | null;
}

/**
 * The platform's client: typed REST calls (`tasks`, `workers`, `tokens`, `session`) and
 * live subscriptions over Socket.IO, with an org API token or session JWT. Uses only
 * `fetch` and socket.io-client, so it runs in Node and in browsers.
 *
 * `realtimeToken` picks the realtime connection's credential: by default `token` itself;
 * `'session'` exchanges `token` for session JWTs (POST /v1/auth/session) and refreshes
 * them before they expire; a function is asked for a fresh JWT whenever one is needed.
 */
export class PlatformClient extends PlatformApi {
  private realtimeClient?: RealtimeClient;

  constructor(
    private readonly options: { url: string; token: string; fetch?: typeof fetch; realtimeToken?: 'session' | (() => Promise<string>) },
  ) {
    super(options.url.replace(/\/$/, ''), options.token, options.fetch);
  }

  /** The realtime connection, opened at the first subscription. */
  get realtime(): RealtimeClient {
    this.realtimeClient ??= new RealtimeClient(this.options.url, this.realtimeCredential());
    return this.realtimeClient;
  }

  private realtimeCredential(): RealtimeCredential {
    const { realtimeToken, token } = this.options;
    if (realtimeToken === 'session') return async () => (await this.session.create()).access_token;
    return realtimeToken ?? token;
  }

  /** Watches a topic: the snapshot, then its events in order, without gaps or duplicates across reconnects. */
  subscribe<Snapshot = unknown>(request: SubscribeRequest): RealtimeSubscription<Snapshot> {
    return this.realtime.subscribe<Snapshot>(request);
  }

  /** Watches one task: its snapshot (task and logs so far), then `task.updated` and `task.log` events. */
  watchTask(taskId: string): RealtimeSubscription<TaskSnapshot> {
    return this.subscribe<TaskSnapshot>({ topic: 'task', id: taskId });
  }

  /** Closes the realtime connection, ending every subscription. */
  close(): void {
    this.realtimeClient?.disconnect();
  }
}
