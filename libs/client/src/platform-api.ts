import type { TaskLogChunk, TaskStatus, TaskView } from '#libs/contracts';

/** An error answer of the API: `{ statusCode, error, message }`. */
export class PlatformApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const message = (body as { message?: unknown } | undefined)?.message;
    super(`${status}: ${Array.isArray(message) ? message.join('; ') : String(message ?? 'request failed')}`);
    this.name = 'PlatformApiError';
  }
}

export interface NewTaskInput {
  type: string;
  params?: Record<string, unknown>;
  priority?: number;
  timeoutMs?: number;
  maxAttempts?: number;
  idempotencyKey?: string;
}

export interface WorkerInfo {
  id: string;
  status: 'ONLINE' | 'DRAINING' | 'OFFLINE';
  hostname: string;
  pid: number;
  concurrency: number;
  running: number;
  startedAt: string;
  lastHeartbeatAt: string;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: 'admin' | 'member' | 'viewer';
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Typed calls of the org routes over `fetch`; works in Node and browsers alike. */
export class PlatformApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly fetchFn: typeof fetch = globalThis.fetch.bind(globalThis),
  ) {}

  readonly tasks = {
    /** Creates a task (QUEUED), or returns the one an earlier create with the same idempotency key made. */
    create: (input: NewTaskInput) => this.call<TaskView>('POST', '/v1/tasks', input),
    get: (id: string) => this.call<TaskView>('GET', `/v1/tasks/${encodeURIComponent(id)}`),
    list: (query: { status?: TaskStatus; type?: string; limit?: number; cursor?: string } = {}) =>
      this.call<Page<TaskView>>('GET', `/v1/tasks${toQuery(query)}`),
    logs: (id: string, query: { after?: number; limit?: number; stream?: string; q?: string } = {}) =>
      this.call<{ items: TaskLogChunk[]; next: number | null }>('GET', `/v1/tasks/${encodeURIComponent(id)}/logs${toQuery(query)}`),
    cancel: (id: string) => this.call<TaskView>('POST', `/v1/tasks/${encodeURIComponent(id)}/cancel`),
  };

  readonly workers = {
    list: () => this.call<WorkerInfo[]>('GET', '/v1/workers'),
  };

  readonly tokens = {
    /** Creates an API token; its secret (`token`) is in this answer only. */
    create: (input: { name: string; role: TokenInfo['role']; expiresAt?: string }) =>
      this.call<TokenInfo & { token: string }>('POST', '/v1/tokens', input),
    list: () => this.call<TokenInfo[]>('GET', '/v1/tokens'),
    revoke: (id: string) => this.call<void>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`),
  };

  readonly session = {
    /** Exchanges the API token for a short-lived session JWT. */
    create: () => this.call<{ access_token: string; token_type: 'bearer'; expires_in: number }>('POST', '/v1/auth/session'),
  };

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetchFn(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new PlatformApiError(response.status, parsed);
    return parsed as T;
  }
}

function toQuery(query: Record<string, string | number | undefined>): string {
  const entries = Object.entries(query).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries.map(([key, value]): [string, string] => [key, String(value)])).toString()}` : '';
}
