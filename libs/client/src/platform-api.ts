import type { TaskClass, TaskLogChunk, TaskStatus, TaskView, WorkerView } from '#libs/contracts';

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
  class?: TaskClass;
  priority?: number;
  runAt?: string;
  delayMs?: number;
  resources?: { pool: string }[];
  timeoutMs?: number;
  maxAttempts?: number;
  idempotencyKey?: string;
  /** Org secrets (by name) the task receives as environment variables, masked as *** in its logs. */
  secrets?: string[];
}

/** A worker as GET /v1/workers shows it. */
export type WorkerInfo = WorkerView;

export interface TokenInfo {
  id: string;
  name: string;
  role: 'admin' | 'member' | 'viewer';
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** When the token (or a session made from it) was last used, to within TOKEN_LAST_USED_FLUSH_MS. */
  lastUsedAt: string | null;
}

/** The task a schedule or trigger creates. */
export interface TaskTemplate {
  type: string;
  params?: Record<string, unknown>;
  class?: TaskClass;
}

export interface ScheduleInfo {
  id: string;
  name: string;
  cron?: string;
  everyMs?: number;
  timezone?: string;
  task: TaskTemplate;
  paused: boolean;
  createdAt: string;
}

export interface WebhookInfo {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
}

export interface TriggerInfo {
  id: string;
  name: string;
  table: string;
  events: ('INSERT' | 'UPDATE' | 'DELETE')[];
  filter: Record<string, unknown>;
  task: TaskTemplate;
  enabled: boolean;
  createdAt: string;
}

/** A secret as GET /v1/secrets shows it: never its value. */
export interface SecretInfo {
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface PoolInfo {
  id: string;
  name: string;
  kind: string;
  createdAt: string;
  counts: { free: number; allocated: number; retired: number };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A configuration entry: any JSON value, versioned (the `ETag` of its GET). */
export interface ConfigEntryInfo {
  key: string;
  value: unknown;
  version: number;
  updatedAt: string;
  updatedBy: string | null;
}

/** A document of a collection, versioned (the `ETag` of its GET). */
export interface DocumentInfo {
  collection: string;
  id: string;
  data: Record<string, unknown>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** One row of the org audit log. */
export interface AuditRecordInfo {
  id: string;
  at: string;
  actor: { kind: 'token' | 'session' | 'platform'; id: string | null; name: string | null; role: string | null };
  action: string;
  target: { type: string; id: string | null };
  requestId: string | null;
  sourceIp: string | null;
  outcome: 'success' | 'failure';
}

/** Conditions of a write: `ifMatch` the version it must still be at (412 otherwise); `ifNoneMatch: '*'` create only. */
export interface WriteConditions {
  ifMatch?: number;
  ifNoneMatch?: '*';
}

function conditionHeaders(conditions: WriteConditions = {}): Record<string, string> {
  return {
    ...(conditions.ifMatch === undefined ? {} : { 'if-match': `"${conditions.ifMatch}"` }),
    ...(conditions.ifNoneMatch === undefined ? {} : { 'if-none-match': conditions.ifNoneMatch }),
  };
}

const documentPath = (collection: string, id?: string) =>
  `/v1/collections/${encodeURIComponent(collection)}/documents${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;

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
    /** Changes a token's role; its live sockets (and its sessions') close. */
    changeRole: (id: string, role: TokenInfo['role']) => this.call<TokenInfo>('PATCH', `/v1/tokens/${encodeURIComponent(id)}`, { role }),
    revoke: (id: string) => this.call<void>('DELETE', `/v1/tokens/${encodeURIComponent(id)}`),
  };

  readonly schedules = {
    /** A recurring task: each tick (cron or everyMs) creates exactly one task. */
    create: (input: { name: string; cron?: string; everyMs?: number; timezone?: string; task: TaskTemplate }) =>
      this.call<ScheduleInfo>('POST', '/v1/schedules', input),
    list: () => this.call<ScheduleInfo[]>('GET', '/v1/schedules'),
    get: (id: string) => this.call<ScheduleInfo>('GET', `/v1/schedules/${encodeURIComponent(id)}`),
    pause: (id: string) => this.call<ScheduleInfo>('POST', `/v1/schedules/${encodeURIComponent(id)}/pause`),
    resume: (id: string) => this.call<ScheduleInfo>('POST', `/v1/schedules/${encodeURIComponent(id)}/resume`),
    delete: (id: string) => this.call<void>('DELETE', `/v1/schedules/${encodeURIComponent(id)}`),
    runs: (id: string, query: { status?: TaskStatus; limit?: number; cursor?: string } = {}) =>
      this.call<Page<TaskView>>('GET', `/v1/schedules/${encodeURIComponent(id)}/runs${toQuery(query)}`),
  };

  readonly webhooks = {
    /** Registers a webhook for finished-task events; deliveries are signed with `secret`. */
    create: (input: { url: string; events: string[]; secret: string }) => this.call<WebhookInfo>('POST', '/v1/webhooks', input),
    list: () => this.call<WebhookInfo[]>('GET', '/v1/webhooks'),
    delete: (id: string) => this.call<void>('DELETE', `/v1/webhooks/${encodeURIComponent(id)}`),
    deliveries: (id: string, query: { limit?: number } = {}) =>
      this.call<unknown[]>('GET', `/v1/webhooks/${encodeURIComponent(id)}/deliveries${toQuery(query)}`),
  };

  readonly triggers = {
    /** Runs `task` for every committed change of `table` matching `events` and `filter`. */
    create: (input: { name: string; table: string; events: TriggerInfo['events']; filter?: Record<string, unknown>; task: TaskTemplate }) =>
      this.call<TriggerInfo>('POST', '/v1/triggers', input),
    list: () => this.call<TriggerInfo[]>('GET', '/v1/triggers'),
    setEnabled: (id: string, enabled: boolean) => this.call<TriggerInfo>('PATCH', `/v1/triggers/${encodeURIComponent(id)}`, { enabled }),
    delete: (id: string) => this.call<void>('DELETE', `/v1/triggers/${encodeURIComponent(id)}`),
    runs: (id: string, query: { limit?: number } = {}) =>
      this.call<{ taskId: string | null; eventType: string; createdAt: string; error?: string }[]>(
        'GET',
        `/v1/triggers/${encodeURIComponent(id)}/runs${toQuery(query)}`,
      ),
  };

  readonly secrets = {
    /** Creates or replaces an org secret (admin token); the value is never shown again. */
    put: (name: string, value: string) => this.call<void>('PUT', `/v1/secrets/${encodeURIComponent(name)}`, { value }),
    list: () => this.call<SecretInfo[]>('GET', '/v1/secrets'),
    delete: (name: string) => this.call<void>('DELETE', `/v1/secrets/${encodeURIComponent(name)}`),
  };

  readonly pools = {
    create: (input: { name: string; kind: string }) => this.call<PoolInfo>('POST', '/v1/pools', input),
    list: () => this.call<PoolInfo[]>('GET', '/v1/pools'),
    addEnvironment: (pool: string, input: { name: string; attributes?: Record<string, unknown> }) =>
      this.call<unknown>('POST', `/v1/pools/${encodeURIComponent(pool)}/environments`, input),
    /** One page of the pool's environments by name; pass `nextCursor` back as `cursor` for the next. */
    environments: (pool: string, query: { limit?: number; cursor?: string } = {}) =>
      this.call<Page<unknown>>('GET', `/v1/pools/${encodeURIComponent(pool)}/environments${toQuery(query)}`),
    /** Leases a free environment; 409 (PlatformApiError) when none is free within `waitSeconds`. */
    allocate: (pool: string, input: { holder: string; ttlSeconds: number; waitSeconds?: number }) =>
      this.call<{ id: string; expiresAt: string; environment: unknown }>(
        'POST',
        `/v1/pools/${encodeURIComponent(pool)}/allocations`,
        input,
      ),
  };

  readonly allocations = {
    extend: (id: string, ttlSeconds: number) =>
      this.call<unknown>('POST', `/v1/allocations/${encodeURIComponent(id)}/extend`, { ttlSeconds }),
    release: (id: string) => this.call<void>('DELETE', `/v1/allocations/${encodeURIComponent(id)}`),
  };

  readonly config = {
    get: (key: string) => this.call<ConfigEntryInfo>('GET', `/v1/config/${encodeURIComponent(key)}`),
    list: (query: { prefix?: string; limit?: number; cursor?: string } = {}) =>
      this.call<Page<ConfigEntryInfo>>('GET', `/v1/config${toQuery(query)}`),
    /** Sets a value; with `ifMatch` or `ifNoneMatch: '*'`, fails with 412 (PlatformApiError) when the condition no longer holds. */
    put: (key: string, value: unknown, conditions?: WriteConditions) =>
      this.call<ConfigEntryInfo>('PUT', `/v1/config/${encodeURIComponent(key)}`, { value }, conditionHeaders(conditions)),
    delete: (key: string, conditions?: Pick<WriteConditions, 'ifMatch'>) =>
      this.call<void>('DELETE', `/v1/config/${encodeURIComponent(key)}`, undefined, conditionHeaders(conditions)),
  };

  readonly documents = {
    /** Creates a document at version 1 (a new UUID id when none is given); 409 when the id is taken. */
    create: (collection: string, input: { id?: string; data: Record<string, unknown> }) =>
      this.call<DocumentInfo>('POST', documentPath(collection), input),
    get: (collection: string, id: string) => this.call<DocumentInfo>('GET', documentPath(collection, id)),
    /** Documents whose data contains `match`, newest first. */
    list: (collection: string, query: { match?: Record<string, unknown>; limit?: number; cursor?: string } = {}) =>
      this.call<Page<DocumentInfo>>(
        'GET',
        `${documentPath(collection)}${toQuery({ ...query, match: query.match === undefined ? undefined : JSON.stringify(query.match) })}`,
      ),
    replace: (collection: string, id: string, data: Record<string, unknown>, conditions?: Pick<WriteConditions, 'ifMatch'>) =>
      this.call<DocumentInfo>('PUT', documentPath(collection, id), { data }, conditionHeaders(conditions)),
    /** Applies a JSON merge patch (RFC 7386) to the data: `null` removes a field. */
    patch: (collection: string, id: string, patch: Record<string, unknown>, conditions?: Pick<WriteConditions, 'ifMatch'>) =>
      this.call<DocumentInfo>('PATCH', documentPath(collection, id), { data: patch }, conditionHeaders(conditions)),
    delete: (collection: string, id: string, conditions?: Pick<WriteConditions, 'ifMatch'>) =>
      this.call<void>('DELETE', documentPath(collection, id), undefined, conditionHeaders(conditions)),
    collections: () => this.call<{ collection: string; count: number }[]>('GET', '/v1/collections'),
  };

  readonly audit = {
    /** The org audit log, newest first (admin role only). */
    list: (
      query: {
        action?: string;
        actorId?: string;
        targetType?: string;
        after?: string;
        before?: string;
        limit?: number;
        cursor?: string;
      } = {},
    ) => this.call<Page<AuditRecordInfo>>('GET', `/v1/audit${toQuery(query)}`),
  };

  /** Who the token is: the platform admin, or an org and role. */
  me = () => this.call<{ kind: 'platform-admin' | 'org'; org?: { id: string; slug: string }; role?: string }>('GET', '/v1/me');

  readonly session = {
    /** Exchanges the API token for a short-lived session JWT. */
    create: () => this.call<{ access_token: string; token_type: 'bearer'; expires_in: number }>('POST', '/v1/auth/session'),
  };

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await this.fetchFn(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
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
