/**
 * The one envelope of every change the platform publishes: task transitions and logs,
 * worker and resource changes, database row changes. `id` is the id of the event in its
 * org's Redis stream (monotonic per org), `org` the org id, `topic` what it is about.
 */
export interface PlatformEvent<Data = unknown> {
  id: string;
  org: string;
  topic: string;
  type: EventType;
  at: string;
  data: Data;
}

export const EventType = {
  taskUpdated: 'task.updated',
  taskLog: 'task.log',
  workerUpdated: 'worker.updated',
  orgUpdated: 'org.updated',
  resourceUpdated: 'resource.updated',
  rowInserted: 'row.inserted',
  rowUpdated: 'row.updated',
  rowDeleted: 'row.deleted',
  configUpdated: 'config.updated',
  configDeleted: 'config.deleted',
  documentCreated: 'document.created',
  documentUpdated: 'document.updated',
  documentDeleted: 'document.deleted',
  auditRecorded: 'audit.recorded',
  /** A message broadcast on a Supabase Realtime channel (stored so every API process delivers it and a rejoin can replay it). */
  channelBroadcast: 'channel.broadcast',
  /** Presence joins and leaves on a Supabase Realtime channel. */
  channelPresence: 'channel.presence',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Topic names: what a client subscribes to. */
export const Topic = {
  task: (taskId: string) => `task:${taskId}`,
  worker: (workerId: string) => `worker:${workerId}`,
  org: (orgId: string) => `org:${orgId}`,
  resource: (kind: string, id: string) => `resource:${kind}:${id}`,
  table: (name: string) => `table:${name}`,
  config: (key: string) => `config:${key}`,
  document: (collection: string, id: string) => `document:${collection}:${id}`,
  audit: 'audit',
  /** A Supabase Realtime channel (its broadcasts and presence), by the name the client gave it. */
  channel: (name: string) => `channel:${name}`,
};

/** The org id under which platform-wide events (workers, org instances) are streamed. */
export const PLATFORM_EVENTS_ORG = 'platform';
