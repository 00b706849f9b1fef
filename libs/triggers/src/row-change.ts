import { createHash } from 'node:crypto';
import { EventType, type PlatformEvent, type RowChangeEvent } from '#libs/contracts';
import type { Trigger, TriggerEvent } from './trigger.repository.js';

const TRIGGER_EVENT_OF: Record<string, TriggerEvent> = {
  [EventType.rowInserted]: 'INSERT',
  [EventType.rowUpdated]: 'UPDATE',
  [EventType.rowDeleted]: 'DELETE',
};

/** A committed row change read from an org event stream, with the key that names it across replays. */
export interface RowChange {
  event: RowChangeEvent;
  /** The same for the same change however often the relay delivers it (its LSN, kind and rows). */
  changeKey: string;
}

/** The row change an org event carries, or undefined for any other event. */
export function rowChangeOf(entry: PlatformEvent): RowChange | undefined {
  const type = TRIGGER_EVENT_OF[entry.type];
  if (!type || !entry.data) return undefined;
  const data = entry.data as {
    schema: string;
    table: string;
    record?: Record<string, unknown> | null;
    old_record?: Record<string, unknown> | null;
    commitTimestamp?: string | null;
    lsn?: string;
  };
  const event: RowChangeEvent = {
    type,
    schema: data.schema,
    table: data.table,
    record: data.record ?? null,
    old_record: data.old_record ?? null,
    commitTimestamp: data.commitTimestamp ?? null,
  };
  // One transaction's changes can share a commit LSN: the rows themselves tell them apart.
  const rows = createHash('sha256')
    .update(JSON.stringify([data.table, event.record, event.old_record]))
    .digest('hex')
    .slice(0, 32);
  return { event, changeKey: `${data.lsn ?? ''}:${type}:${rows}` };
}

/** True when the change is of the trigger's table and kind, and its row has the filter's column values. */
export function triggerMatches(trigger: Trigger, change: RowChangeEvent): boolean {
  if (trigger.table !== change.table || !trigger.events.includes(change.type)) return false;
  const row = (change.type === 'DELETE' ? change.old_record : change.record) ?? {};
  return Object.entries(trigger.filter).every(([column, value]) => JSON.stringify(row[column]) === JSON.stringify(value));
}
