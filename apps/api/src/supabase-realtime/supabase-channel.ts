import type { PlatformEvent } from '#libs/contracts';
import type { OrgClaims } from '#libs/registry';
import type { PhoenixMessage } from './phoenix-message.js';
import type { ChangeColumn, ChangeType } from './postgres-change.js';
import type { FilterCondition } from './postgres-changes-filter.js';

/**
 * Where a channel's broadcasts and presence live: a private and a public channel of one
 * name never share them (as in Supabase), so a public join cannot hear a private channel.
 */
export const channelSpace = (name: string, isPrivate: boolean): string => `${isPrivate ? 'private' : 'public'}:${name}`;

/** One `postgres_changes` binding of a joined channel, with the id its join reply gave it. */
export interface ChannelBinding {
  id: number;
  event: '*' | ChangeType;
  /** Undefined for every table of the schema. */
  table?: string;
  conditions: FilterCondition[];
}

/** A channel a client joined on this process: what it listens to, and how far it has been brought. */
export interface JoinedChannel {
  /** Unique on this process: which connection and which join. */
  key: string;
  /** `realtime:<name>` as the client sent it. */
  topic: string;
  /** The channel name: the topic without `realtime:`. */
  name: string;
  /** Where its broadcasts and presence live (channelSpace). */
  space: string;
  joinRef: string;
  orgId: string;
  claims: OrgClaims;
  /** Channels with equal claims share row-level security checks. */
  claimsKey: string;
  bindings: ChannelBinding[];
  /** Columns of each bound table, for the `columns` of its payloads. */
  columns: Map<string, ChangeColumn[]>;
  /** Replica identity columns of each bound table, which an UPDATE's `old_record` carries at least. */
  identities: Map<string, string[]>;
  /** Per bound table, a key of its columns and identity: channels with equal keys share one encoded change. */
  shapes: Map<string, string>;
  broadcastSelf: boolean;
  /** With `config.broadcast.replay`: only changes at or after this Unix-ms time are replayed, at most `replayLimit`. */
  replaySince?: number;
  replayLimit?: number;
  /** Id of the last stream event this channel has been brought past. */
  lastId: string;
  /** While true, live events wait in `pending` so replayed ones go first. */
  replaying: boolean;
  pending: PlatformEvent[];
  closed: boolean;
  send(message: PhoenixMessage): void;
  /** Sends a message whose payload is JSON already. */
  sendEncoded(head: Omit<PhoenixMessage, 'payload'>, payloadJson: string): void;
  /** The channel's connection: frames written between cork() and uncork() leave in one write. */
  connection: { cork(): void; uncork(): void };
  /** Closes the whole connection: it fell too far behind. */
  overflow(reason: string): void;
}
