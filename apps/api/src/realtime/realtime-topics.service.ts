import { Injectable } from '@nestjs/common';
import pg from 'pg';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { EventType, PLATFORM_EVENTS_ORG, PLATFORM_OWNED_TABLES, TASK_STATUSES, Topic, type TaskStatus } from '#libs/contracts';
import { ChangeCapture, RealtimeSnapshotProviders, SnapshotNotFoundError, type RowChange } from '#libs/realtime';
import { OrgDatabase, OrgRegistryRepository, OrgRelayStates, publicInstanceView, publicOrgView } from '#libs/registry';
import { TaskNotFoundError, TaskService, WorkerRegistryStore } from '#libs/tasks';
import { OperationalStateTopics } from './operational-state-topics.service.js';
import { SubscriptionRefused, type RefusalCode, type TopicPlan } from './topic-plan.js';
import { FIELD_NAME, type FilterValue, type SubscribeDto } from './subscribe.dto.js';

/** Tasks in the snapshot of a `tasks` subscription: the first page, as GET /v1/tasks gives it. */
const SNAPSHOT_TASKS = 50;
/** Log chunks in the snapshot of a `task` subscription; the rest is paged over HTTP from `logsNext`. */
const SNAPSHOT_LOG_CHUNKS = 1000;
/** Rows in the snapshot of a `table` subscription; `truncated` says when there were more. */
const SNAPSHOT_ROWS = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const refuse = (code: RefusalCode, message: string): never => {
  throw new SubscriptionRefused(code, message);
};

function equalTo(actual: unknown, expected: FilterValue): boolean {
  if (expected === null) return actual === null;
  return actual !== null && actual !== undefined && typeof actual !== 'object' && String(actual) === String(expected);
}

export { SubscriptionRefused, type RefusalCode, type TopicPlan } from './topic-plan.js';

/** Turns a subscribe payload into a plan, checking the caller may see what it names. */
@Injectable()
export class RealtimeTopics {
  constructor(
    private readonly tasks: TaskService,
    private readonly workers: WorkerRegistryStore,
    private readonly database: OrgDatabase,
    private readonly providers: RealtimeSnapshotProviders,
    private readonly registry: OrgRegistryRepository,
    private readonly operationalState: OperationalStateTopics,
    private readonly relayStates: OrgRelayStates,
    private readonly capture: ChangeCapture,
  ) {}

  plan(principal: OrgPrincipal, request: SubscribeDto): TopicPlan {
    switch (request.topic) {
      case 'task':
        return this.task(principal, request);
      case 'tasks':
        return this.taskList(principal, request);
      case 'worker':
        return this.worker(request);
      case 'resource':
        return this.resource(principal, request);
      case 'table':
        return this.table(principal, request);
      case 'orgs':
        return refuse('not_found', "the orgs topic is the platform admin's");
      case 'config':
        return this.operationalState.configTopic(principal, request);
      case 'documents':
        return this.operationalState.documentsTopic(principal, request);
      case 'audit':
        return this.operationalState.auditTopic(principal, request);
    }
  }

  /** The platform admin's one topic: every org instance as it moves through provisioning (`org.updated`). */
  planForAdmin(request: SubscribeDto): TopicPlan {
    if (request.topic !== 'orgs') refuse('not_found', 'the platform admin token sees only the orgs topic');
    if (request.id || request.filter) refuse('invalid_payload', 'an orgs subscription takes no id or filter');
    return {
      streamOrg: PLATFORM_EVENTS_ORG,
      matches: (event) => event.type === EventType.orgUpdated,
      snapshot: async () => {
        const all = await this.registry.list();
        const realtime = await this.relayStates.views(all);
        return all.map(({ org, instance }) => ({ org: publicOrgView(org), instance: publicInstanceView(instance, realtime.get(org.id)) }));
      },
    };
  }

  private task(principal: OrgPrincipal, { id, filter }: SubscribeDto): TopicPlan {
    if (!id) refuse('invalid_payload', 'a task subscription needs the task id');
    if (filter) refuse('invalid_payload', 'a task subscription takes no filter');
    const topic = Topic.task(id!);
    const claims = claimsOf(principal);
    return {
      streamOrg: principal.orgId,
      exactTopic: topic,
      matches: (event) => event.topic === topic,
      snapshot: async () => {
        // Ids that are not UUIDs name no task, as over HTTP.
        if (!UUID.test(id!)) refuse('not_found', `no task ${id}`);
        try {
          const task = await this.tasks.get(claims, id!);
          const logs = await this.tasks.logs(claims, id!, { after: 0, limit: SNAPSHOT_LOG_CHUNKS });
          return { task, logs: logs.items, logsNext: logs.next };
        } catch (error) {
          if (error instanceof TaskNotFoundError) refuse('not_found', `no task ${id}`);
          throw error;
        }
      },
    };
  }

  private taskList(principal: OrgPrincipal, { id, filter = {} }: SubscribeDto): TopicPlan {
    if (id) refuse('invalid_payload', 'a tasks subscription takes no id (use topic "task" for one task)');
    const unknown = Object.keys(filter).filter((key) => key !== 'status' && key !== 'type');
    if (unknown.length) refuse('invalid_payload', `a tasks filter takes only status and type, not ${unknown.join(', ')}`);
    if (filter.status !== undefined && !TASK_STATUSES.includes(filter.status as TaskStatus)) {
      refuse('invalid_payload', `filter.status must be one of ${TASK_STATUSES.join(', ')}`);
    }
    if (filter.type !== undefined && typeof filter.type !== 'string') refuse('invalid_payload', 'filter.type must be a string');
    const status = filter.status as TaskStatus | undefined;
    const type = filter.type as string | undefined;
    return {
      streamOrg: principal.orgId,
      eventType: EventType.taskUpdated,
      matches: (event) => {
        if (event.type !== EventType.taskUpdated) return false;
        const task = event.data as { status?: string; type?: string };
        return (!status || task.status === status) && (!type || task.type === type);
      },
      snapshot: () => this.tasks.list(claimsOf(principal), { status, type, limit: SNAPSHOT_TASKS }),
    };
  }

  private worker({ id, filter }: SubscribeDto): TopicPlan {
    if (filter) refuse('invalid_payload', 'a worker subscription takes no filter');
    const topic = id ? Topic.worker(id) : undefined;
    return {
      // Workers serve every org: their events are the platform's, which every org may watch (as GET /v1/workers).
      streamOrg: PLATFORM_EVENTS_ORG,
      exactTopic: topic,
      matches: (event) => event.type === EventType.workerUpdated && (!topic || event.topic === topic),
      snapshot: async () => (await this.workers.list()).filter((worker) => !id || worker.id === id),
    };
  }

  private resource(principal: OrgPrincipal, request: SubscribeDto): TopicPlan {
    const { id, filter = {} } = request;
    const exact = id ? `resource:${id}` : undefined;
    const provider = this.providers.get('resource');
    return {
      streamOrg: principal.orgId,
      eventType: EventType.resourceUpdated,
      matches: (event) =>
        event.type === EventType.resourceUpdated &&
        (!exact || event.topic === exact || event.topic.startsWith(`${exact}:`)) &&
        Object.entries(filter).every(([field, value]) => equalTo((event.data as Record<string, unknown>)?.[field], value)),
      snapshot: async () => {
        if (!provider) return null;
        try {
          return await provider.snapshot(principal, { topic: 'resource', id, filter: request.filter });
        } catch (error) {
          if (error instanceof SnapshotNotFoundError) refuse('not_found', error.message);
          throw error;
        }
      },
    };
  }

  private table(principal: OrgPrincipal, { id, filter = {} }: SubscribeDto): TopicPlan {
    if (!id || !FIELD_NAME.test(id)) refuse('invalid_payload', 'a table subscription needs the table name as id');
    // Row-level security hides audit rows from all but admins; its row events must not show them either.
    if (id === 'audit_log' && principal.role !== 'admin') refuse('not_found', 'the audit log is for the admin role');
    const table = id!;
    // Platform tables answer as absent ones do: their rows (secrets among them) are the platform's, not the org's.
    if (PLATFORM_OWNED_TABLES.has(table.toLowerCase())) refuse('not_found', `no table ${table}`);
    const topic = Topic.table(table);
    const wanted = Object.entries(filter);
    const claims = claimsOf(principal);
    return {
      streamOrg: principal.orgId,
      exactTopic: topic,
      // The snapshot is read under the caller's role; live rows pass the same policies.
      rowSecurity: { table, claims, callerKey: JSON.stringify(claims) },
      matches: (event) => {
        if (event.topic !== topic) return false;
        const change = event.data as RowChange;
        const row = change.record ?? change.old_record ?? {};
        // A delete carries only the key by default: columns it lacks cannot rule the event out.
        return wanted.every(([column, value]) => !(column in row) || equalTo(row[column], value));
      },
      snapshot: async () => {
        // The org's changes are captured before its rows are read: none committed after the snapshot is lost, even on a new first table.
        await this.capture.ensure(principal.orgId);
        return this.tableRows(principal, table, wanted);
      },
    };
  }

  /** The table's rows matching the filter, read as the caller so row-level security decides. */
  private tableRows(principal: OrgPrincipal, table: string, wanted: [string, FilterValue][]) {
    return this.database.asCaller(claimsOf(principal), async (client) => {
      // information_schema shows the caller only the columns it has rights on: no rights, no table.
      const { rows: columns } = await client.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
        [table],
      );
      if (columns.length === 0) refuse('not_found', `no table ${table}`);
      const known = new Map(columns.map((column) => [column.column_name, column.data_type]));
      const unknown = wanted.filter(([column]) => !known.has(column)).map(([column]) => column);
      if (unknown.length) refuse('invalid_payload', `table ${table} has no column ${unknown.join(', ')}`);
      const params: unknown[] = [];
      const conditions = wanted.map(([column, value]) => {
        if (value === null) return `${pg.escapeIdentifier(column)} IS NULL`;
        params.push(String(value));
        // Compared as events are: a JSON string by its text, not its quoted JSON form.
        const json = known.get(column) === 'json' || known.get(column) === 'jsonb';
        const text = json ? `(${pg.escapeIdentifier(column)}::jsonb #>> '{}')` : `${pg.escapeIdentifier(column)}::text`;
        return `${text} = $${params.length}`;
      });
      const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
      const { rows } = await client.query(`SELECT * FROM public.${pg.escapeIdentifier(table)} ${where} LIMIT ${SNAPSHOT_ROWS + 1}`, params);
      return { rows: rows.slice(0, SNAPSHOT_ROWS), truncated: rows.length > SNAPSHOT_ROWS };
    });
  }
}
