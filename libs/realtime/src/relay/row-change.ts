import { EventType, Topic } from '#libs/contracts';
import type { NewEvent } from '#libs/event-stream';

/** The data of a `row.inserted|updated|deleted` event: one committed row change of an org table. */
export interface RowChange {
  schema: string;
  table: string;
  /** The row after the change; null for a delete. */
  record: Record<string, unknown> | null;
  /** The row before the change, as far as the table's replica identity gives it (the key by default); null for an insert. */
  old_record: Record<string, unknown> | null;
  commitTimestamp: string;
  /** WAL position of the change; null when the source gives none (Supabase Realtime). */
  lsn: string | null;
}

export type RowChangeKind = 'insert' | 'update' | 'delete';

const TYPE_OF: Record<RowChangeKind, EventType> = {
  insert: EventType.rowInserted,
  update: EventType.rowUpdated,
  delete: EventType.rowDeleted,
};

/** The event envelope (without id and org) of one row change. */
export function rowChangeEvent(kind: RowChangeKind, change: RowChange): NewEvent<RowChange> {
  return { topic: Topic.table(change.table), type: TYPE_OF[kind], at: change.commitTimestamp, data: change };
}

/** Orders two WAL positions `X/Y` (hex): negative when `a` is earlier. */
export function compareLsn(a: string, b: string): number {
  const value = (lsn: string) => {
    const [high, low] = lsn.split('/');
    return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
  };
  const difference = value(a) - value(b);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}
