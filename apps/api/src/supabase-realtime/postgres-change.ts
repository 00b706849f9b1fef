import { EventType, type PlatformEvent, type TaskLogChunk, type TaskView } from '#libs/contracts';
import type { RowChange } from '#libs/realtime';
import type { ChangeColumn } from '../realtime/row-visibility.service.js';

export type ChangeType = 'INSERT' | 'UPDATE' | 'DELETE';

export type { ChangeColumn } from '../realtime/row-visibility.service.js';

/** One row change as a `postgres_changes` binding sees it, whichever tier it came from. */
export interface PostgresChange {
  schema: string;
  table: string;
  type: ChangeType;
  commit_timestamp: string;
  record: Record<string, unknown> | null;
  old_record: Record<string, unknown> | null;
  /** True for the task tier's virtual tables, which every role of the org may read (as over HTTP). */
  virtual: boolean;
}

/** The task tier's two virtual tables. */
export const VIRTUAL_TABLES = {
  tasks: [
    { name: 'id', type: 'uuid' },
    { name: 'type', type: 'text' },
    { name: 'status', type: 'text' },
    { name: 'params', type: 'jsonb' },
    { name: 'class', type: 'text' },
    { name: 'priority', type: 'int4' },
    { name: 'attempt', type: 'int4' },
    { name: 'maxAttempts', type: 'int4' },
    { name: 'timeoutMs', type: 'int4' },
    { name: 'progress', type: 'float8' },
    { name: 'result', type: 'jsonb' },
    { name: 'error', type: 'text' },
    { name: 'workerId', type: 'text' },
    { name: 'createdAt', type: 'timestamptz' },
    { name: 'startedAt', type: 'timestamptz' },
    { name: 'finishedAt', type: 'timestamptz' },
  ],
  task_logs: [
    { name: 'task_id', type: 'uuid' },
    { name: 'seq', type: 'int4' },
    { name: 'stream', type: 'text' },
    { name: 'chunk', type: 'text' },
    { name: 'at', type: 'timestamptz' },
  ],
} satisfies Record<string, ChangeColumn[]>;
export type VirtualTable = keyof typeof VIRTUAL_TABLES;

export const isVirtualTable = (table: string): table is VirtualTable => Object.hasOwn(VIRTUAL_TABLES, table);

const ROW_TYPES: Partial<Record<string, ChangeType>> = {
  [EventType.rowInserted]: 'INSERT',
  [EventType.rowUpdated]: 'UPDATE',
  [EventType.rowDeleted]: 'DELETE',
};
const WAITING = new Set(['SCHEDULED', 'QUEUED']);

/** The row change an org stream event stands for, or undefined for events that are not one. */
export function postgresChangeOf(event: PlatformEvent): PostgresChange | undefined {
  const rowType = ROW_TYPES[event.type];
  if (rowType) {
    const change = event.data as RowChange;
    return {
      schema: change.schema,
      table: change.table,
      type: rowType,
      commit_timestamp: change.commitTimestamp,
      record: change.record,
      old_record: change.old_record,
      virtual: false,
    };
  }
  if (event.type === EventType.taskUpdated) {
    const task = event.data as TaskView;
    // A task's create event is stamped with its creation time; every transition after it with its own.
    const created = event.at === task.createdAt && WAITING.has(task.status);
    return {
      schema: 'public',
      table: 'tasks',
      type: created ? 'INSERT' : 'UPDATE',
      commit_timestamp: event.at,
      record: task as unknown as Record<string, unknown>,
      old_record: created ? null : { id: task.id },
      virtual: true,
    };
  }
  if (event.type === EventType.taskLog) {
    const log = event.data as TaskLogChunk & { taskId: string };
    return {
      schema: 'public',
      table: 'task_logs',
      type: 'INSERT',
      commit_timestamp: event.at,
      record: { task_id: log.taskId, seq: log.seq, stream: log.stream, chunk: log.chunk, at: log.at },
      old_record: null,
      virtual: true,
    };
  }
  return undefined;
}

/** The `postgres_changes` message payload for the bindings `ids`, as Supabase Realtime sends it. */
/** The `data` of a `postgres_changes` payload as JSON, and the payload around it, so channels of the same table share one encoding. */
export function postgresChangesPayloadJson(ids: number[], dataJson: string): string {
  return `{"ids":${JSON.stringify(ids)},"data":${dataJson}}`;
}

export function postgresChangesPayload(
  ids: number[],
  change: PostgresChange,
  columns: ChangeColumn[],
  identity: string[] = [],
): Record<string, unknown> {
  const data: Record<string, unknown> = {
    schema: change.schema,
    table: change.table,
    commit_timestamp: change.commit_timestamp,
    type: change.type,
    columns,
    errors: null,
  };
  if (change.type !== 'DELETE') data.record = change.record ?? {};
  // pgoutput sends no old row for an UPDATE that kept its key: its key is then the new row's, as Supabase reports it.
  if (change.type !== 'INSERT') data.old_record = change.old_record ?? keyOf(change.record, identity);
  return { ids, data };
}

function keyOf(record: Record<string, unknown> | null, identity: string[]): Record<string, unknown> {
  if (!record) return {};
  return Object.fromEntries(identity.filter((column) => column in record).map((column) => [column, record[column]]));
}
