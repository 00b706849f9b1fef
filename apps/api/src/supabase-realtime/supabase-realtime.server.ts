import { Inject, Injectable, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { Authenticator, claimsOf, CredentialCache, LoginFailureLimiter, type CredentialRevocation, type OrgPrincipal } from '#libs/auth';
import { EventType, PLATFORM_OWNED_TABLES, Topic } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { ChangeCapture, OrgEventStream } from '#libs/realtime';
import type { OrgClaims } from '#libs/registry';
import { ChannelPresenceStore } from './channel-presence.store.js';
import { ConnectionLimitExceeded, ConnectionSlots, type ConnectionSlot } from './connection-slots.store.js';
import {
  decodeFrame,
  encodeFrame,
  encodeFrameWithPayload,
  MalformedFrameError,
  PHOENIX_VSNS,
  type PhoenixMessage,
  type PhoenixVsn,
} from './phoenix-message.js';
import { SupabaseRealtimeMetrics, type JoinRefusalReason } from '../metrics/supabase-realtime.metrics.js';
import { isVirtualTable, VIRTUAL_TABLES, type ChangeColumn } from './postgres-change.js';
import { InvalidFilterError, parseFilter } from './postgres-changes-filter.js';
import {
  ChannelAuthorizationUnavailable,
  RowVisibility,
  TableNotVisibleError,
  type ChannelAccess,
} from '../realtime/row-visibility.service.js';
import { channelSpace, type ChannelBinding, type JoinedChannel } from './supabase-channel.js';
import { SupabaseChannelFeed, type ChannelBroadcastData } from './supabase-channel-feed.service.js';

/** The path supabase-js opens under the platform's base URL. */
export const SUPABASE_REALTIME_PATH = '/realtime/v1/websocket';
/** Largest frame a client may send. */
const MAX_FRAME_BYTES = 256 * 1024;
/** Channels one connection may join (Supabase's own default). */
const CHANNELS_PER_CONNECTION = 100;
/** `postgres_changes` bindings one channel may hold. */
const BINDINGS_PER_CHANNEL = 100;
/** Unsent bytes past which a connection is closed as too slow: its client rejoins with replay and loses nothing. */
const SEND_BUFFER_MAX_BYTES = 16 * 1024 * 1024;
/** Longest channel name (the topic after `realtime:`). */
const CHANNEL_NAME_MAX = 200;
/** Close code for a client that fell behind (RFC 6455: try again later). */
const CLOSE_TRY_AGAIN_LATER = 1013;
const MAX_TIMER_MS = 2 ** 31 - 1;
const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 429: 'Too Many Requests', 503: 'Service Unavailable' };
const CHANGE_EVENTS = new Set(['*', 'INSERT', 'UPDATE', 'DELETE']);

/** A join refused with a reason the client sees, and its cause for metrics. */
class JoinRefused extends Error {
  constructor(
    message: string,
    readonly refusal: JoinRefusalReason = 'invalid',
  ) {
    super(message);
  }
}

interface Credential {
  principal: OrgPrincipal;
  expiresAt?: number;
}

interface ServerChannel extends JoinedChannel {
  credential: Credential;
  /** A private channel's rights (realtime.messages policies); undefined for a public one. */
  access?: ChannelAccess;
  presenceKey: string;
  presenceEnabled: boolean;
  tracked?: { ref: string; key: string; meta: Record<string, unknown> };
  expiry?: NodeJS.Timeout;
}

interface Connection {
  id: string;
  slot: ConnectionSlot;
  socket: WebSocket;
  transport: JoinedChannel['connection'];
  vsn: PhoenixVsn;
  credential: Credential;
  source: string;
  channels: Map<string, ServerChannel>;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The Supabase Realtime protocol on a plain WebSocket at /realtime/v1/websocket, beside
 * Socket.IO: Phoenix channels (vsn 1.0.0 and 2.0.0) with `postgres_changes` bindings on
 * the org's tables and the task tier's virtual tables, broadcast and presence, all served
 * from the org event stream. The `apikey` and each join's `access_token` are org API
 * tokens or session JWTs, checked by the same Authenticator as HTTP.
 */
@Injectable()
export class SupabaseRealtimeServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly connections = new Set<Connection>();
  private stopListening?: () => void;
  private renewal?: NodeJS.Timeout;
  private httpServer?: Server;
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: Authenticator,
    private readonly limiter: LoginFailureLimiter,
    private readonly cache: CredentialCache,
    private readonly feed: SupabaseChannelFeed,
    private readonly visibility: RowVisibility,
    private readonly presence: ChannelPresenceStore,
    private readonly slots: ConnectionSlots,
    private readonly stream: OrgEventStream,
    private readonly capture: ChangeCapture,
    private readonly metrics: SupabaseRealtimeMetrics,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.httpServer.on('upgrade', this.onUpgrade);
    this.stopListening = this.cache.onRevocation((revocation) => this.revoked(revocation));
    this.renewal = setInterval(() => this.renewPresences(), this.presence.leaseMs / 3);
    this.renewal.unref();
  }

  beforeApplicationShutdown(): void {
    this.httpServer?.off('upgrade', this.onUpgrade);
    this.stopListening?.();
    clearInterval(this.renewal);
    for (const connection of this.connections) connection.socket.close(1001, 'server shutting down');
    this.server.close();
  }

  /** Number of open connections (metrics, tests). */
  get size(): number {
    return this.connections.size;
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== SUPABASE_REALTIME_PATH && url.pathname !== `${SUPABASE_REALTIME_PATH}/`) return;
    const refuse = (status: number, message: string) => {
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}`,
      );
    };
    const vsn = (url.searchParams.get('vsn') ?? '1.0.0') as PhoenixVsn;
    if (!PHOENIX_VSNS.includes(vsn)) return refuse(400, `unsupported vsn ${vsn}: use 1.0.0 or 2.0.0`);
    const source = request.socket.remoteAddress ?? 'unknown';
    const token = url.searchParams.get('apikey') ?? '';
    this.admit(token, source).then(
      (admitted) => {
        if ('refused' in admitted) return refuse(admitted.refused.status, admitted.refused.message);
        if (socket.destroyed) return void this.release(admitted.slot);
        this.server.handleUpgrade(request, socket, head, (ws) => this.open(ws, vsn, admitted.credential, admitted.slot, source));
      },
      (error: Error) => {
        this.logger.warn({ err: error }, 'Supabase realtime handshake failed');
        refuse(503, 'the connection could not be set up; try again');
      },
    );
  }

  /** The connection's credential and slot, or why it is refused (401 bad token, 429 blocked or over a cap). */
  private async admit(
    token: string,
    source: string,
  ): Promise<{ credential: Credential; slot: ConnectionSlot } | { refused: { status: number; message: string } }> {
    if (await this.limiter.isBlocked(source))
      return { refused: { status: 429, message: 'too many failed logins from this address; try again later' } };
    const credential = await this.authenticate(token, source);
    if (!credential) return { refused: { status: 401, message: token ? 'invalid, expired or revoked apikey' : 'missing apikey' } };
    try {
      return { credential, slot: await this.slots.admit(credential.principal, randomUUID()) };
    } catch (error) {
      if (error instanceof ConnectionLimitExceeded) return { refused: { status: 429, message: `${error.message}: limit ${error.limit}` } };
      throw error;
    }
  }

  private release(slot: ConnectionSlot): void {
    this.slots
      .release(slot)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'releasing a connection slot failed; its lease ends it'));
  }

  /** An org credential for the token, or undefined (a failed login) when it is none. */
  private async authenticate(token: string, source: string): Promise<Credential | undefined> {
    if (await this.limiter.isBlocked(source)) throw new Error('too many failed logins from this address; try again later');
    const verified = token ? await this.authenticator.verify(token) : undefined;
    if (!verified || verified.principal.kind !== 'org') {
      await this.limiter.recordFailure(source);
      this.logger.warn({ source }, 'failed Supabase realtime login');
      return undefined;
    }
    return { principal: verified.principal, expiresAt: verified.expiresAt };
  }

  private open(socket: WebSocket, vsn: PhoenixVsn, credential: Credential, slot: ConnectionSlot, source: string): void {
    // ws writes each frame as it is sent; corking the TCP socket around a batch makes one write of many frames.
    const tcp = (socket as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    const transport = { cork: () => tcp.cork(), uncork: () => tcp.uncork() };
    const connection: Connection = { id: slot.id, slot, socket, transport, vsn, credential, source, channels: new Map() };
    this.connections.add(connection);
    this.metrics.connections.inc();
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      let message: PhoenixMessage;
      try {
        message = decodeFrame(vsn, data, isBinary);
      } catch (error) {
        // A frame that is no Phoenix message ends the connection, never the process.
        return socket.close(1003, error instanceof MalformedFrameError ? error.message : 'malformed frame');
      }
      this.handle(connection, message).catch((error: unknown) => {
        this.logger.error({ err: error, topic: message.topic, event: message.event }, 'Supabase realtime message failed');
        this.reply(connection, message, 'error', { reason: 'internal error; try again' });
      });
    });
    socket.on('close', () => {
      this.connections.delete(connection);
      this.metrics.connections.dec();
      this.release(slot);
      for (const channel of connection.channels.values()) this.leave(connection, channel);
    });
    socket.on('error', () => socket.terminate());
  }

  private send(connection: Connection, message: PhoenixMessage): void {
    // Heartbeat replies are counted apart: they say nothing of the channels' traffic.
    const kind = message.topic === 'phoenix' ? 'heartbeat' : message.event;
    this.sendFrame(connection, kind, () => encodeFrame(connection.vsn, message));
  }

  private sendFrame(connection: Connection, kind: string, frame: () => string): void {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    if (connection.socket.bufferedAmount > SEND_BUFFER_MAX_BYTES) {
      connection.socket.close(CLOSE_TRY_AGAIN_LATER, 'slow consumer: rejoin with config.broadcast.replay');
      return;
    }
    connection.socket.send(frame());
    this.metrics.messagesOut.inc({ kind });
  }

  private reply(connection: Connection, to: PhoenixMessage, status: 'ok' | 'error', response: Record<string, unknown>): void {
    this.send(connection, { join_ref: to.join_ref, ref: to.ref, topic: to.topic, event: 'phx_reply', payload: { status, response } });
  }

  private async handle(connection: Connection, message: PhoenixMessage): Promise<void> {
    if (message.topic === 'phoenix' && message.event === 'heartbeat') return this.reply(connection, message, 'ok', {});
    if (message.event === 'phx_join') return this.join(connection, message);
    const channel = connection.channels.get(message.topic);
    if (!channel || (message.join_ref !== null && message.join_ref !== channel.joinRef)) {
      return this.reply(connection, message, 'error', { reason: 'unmatched topic' });
    }
    switch (message.event) {
      case 'phx_leave':
        this.leave(connection, channel);
        this.reply(connection, message, 'ok', {});
        return this.send(connection, { join_ref: channel.joinRef, ref: null, topic: channel.topic, event: 'phx_close', payload: {} });
      case 'access_token':
        return this.refreshToken(connection, channel, message);
      case 'broadcast':
        return this.broadcast(connection, channel, message);
      case 'presence':
        return this.presenceMessage(connection, channel, message);
      default:
        return this.reply(connection, message, 'error', { reason: `unknown event ${message.event}` });
    }
  }

  private async join(connection: Connection, message: PhoenixMessage): Promise<void> {
    const { topic, payload } = message;
    const joinRef = message.join_ref ?? message.ref ?? '';
    try {
      if (!topic.startsWith('realtime:') || topic.length - 'realtime:'.length > CHANNEL_NAME_MAX || topic === 'realtime:') {
        throw new JoinRefused(`a channel topic is realtime:<name>, the name 1 to ${CHANNEL_NAME_MAX} characters`);
      }
      const existing = connection.channels.get(topic);
      if (existing) this.leave(connection, existing);
      if (connection.channels.size >= CHANNELS_PER_CONNECTION)
        throw new JoinRefused(`at most ${CHANNELS_PER_CONNECTION} channels per connection`, 'limit');
      const credential = await this.joinCredential(connection, payload.access_token);
      const config = isObject(payload.config) ? payload.config : {};
      const requested = config.postgres_changes === undefined ? [] : config.postgres_changes;
      if (!Array.isArray(requested) || requested.length > BINDINGS_PER_CHANNEL) {
        throw new JoinRefused(`config.postgres_changes is a list of at most ${BINDINGS_PER_CHANNEL} bindings`);
      }
      const claims = claimsOf(credential.principal);
      const access = config.private === true ? await this.channelAccess(claims, topic.slice('realtime:'.length)) : undefined;
      const columns = new Map<string, ChangeColumn[]>();
      const identities = new Map<string, string[]>();
      const bindings: ChannelBinding[] = [];
      for (const [index, raw] of requested.entries()) {
        bindings.push(await this.binding(index + 1, raw, credential.principal, columns, identities));
      }
      const broadcast = isObject(config.broadcast) ? config.broadcast : {};
      const presence = isObject(config.presence) ? config.presence : {};
      const replay = broadcast.replay;
      let replaySince: number | undefined;
      let replayLimit: number | undefined;
      if (replay !== undefined) {
        if (!isObject(replay) || typeof replay.since !== 'number' || !Number.isFinite(replay.since) || replay.since < 0) {
          throw new JoinRefused('config.broadcast.replay is { since: <Unix ms>, limit?: <count> }');
        }
        if (replay.limit !== undefined && (typeof replay.limit !== 'number' || !Number.isInteger(replay.limit) || replay.limit < 1)) {
          throw new JoinRefused('config.broadcast.replay.limit is a positive integer');
        }
        replaySince = Math.floor(replay.since);
        replayLimit = replay.limit as number | undefined;
      }
      const { orgId } = credential.principal;
      // Changes of the org's tables are captured before the join is answered: none committed after it is lost, even on a new first table.
      if (bindings.some((binding) => binding.table === undefined || !isVirtualTable(binding.table))) await this.capture.ensure(orgId);
      // From `since`'s millisecond, inclusively: it may hold many changes, and a client that left
      // (supabase-js closes a channel as it sends phx_leave) may have dropped some of them in flight.
      if (replaySince !== undefined && (await this.stream.sinceExpired(orgId, `${replaySince}-0`))) {
        throw new JoinRefused('replay since is older than the org stream keeps: fetch the current rows again', 'replay_expired');
      }
      // The start is taken before the join is answered: a change racing the join is delivered, never lost.
      const lastId = replaySince === undefined ? await this.stream.lastId(orgId) : `${Math.max(0, replaySince - 1)}-18446744073709551615`;
      if (connection.socket.readyState !== connection.socket.OPEN) return;
      const key = `${connection.id}:${joinRef}`;
      const channel: ServerChannel = {
        key,
        topic,
        name: topic.slice('realtime:'.length),
        space: channelSpace(topic.slice('realtime:'.length), config.private === true),
        joinRef,
        orgId: credential.principal.orgId,
        claims,
        claimsKey: JSON.stringify(claims),
        bindings,
        columns,
        identities,
        shapes: new Map([...columns].map(([table, known]) => [table, JSON.stringify([known, identities.get(table)])])),
        broadcastSelf: broadcast.self === true,
        replaySince,
        replayLimit,
        lastId,
        replaying: true,
        pending: [],
        closed: false,
        credential,
        access,
        presenceEnabled: presence.enabled === true,
        presenceKey: typeof presence.key === 'string' && presence.key !== '' ? presence.key : randomUUID(),
        connection: connection.transport,
        send: (out) => this.send(connection, out),
        sendEncoded: (head, payloadJson) =>
          this.sendFrame(connection, head.event, () => encodeFrameWithPayload(connection.vsn, head, payloadJson)),
        overflow: (reason) => {
          this.logger.info({ reason, topic }, 'Supabase realtime client must rejoin');
          connection.socket.close(CLOSE_TRY_AGAIN_LATER, reason);
        },
      };
      connection.channels.set(topic, channel);
      this.metrics.channels.inc();
      if (replaySince !== undefined) this.metrics.replays.inc();
      const echoed = requested.map((raw, index) => ({ ...(raw as Record<string, unknown>), id: bindings[index]!.id }));
      this.reply(connection, message, 'ok', { postgres_changes: echoed });
      if (bindings.length > 0) {
        this.send(connection, {
          join_ref: joinRef,
          ref: null,
          topic,
          event: 'system',
          payload: { channel: channel.name, extension: 'postgres_changes', message: 'Subscribed to PostgreSQL', status: 'ok' },
        });
      }
      this.armExpiry(connection, channel);
      this.feed.add(channel);
      if (presence.enabled === true) {
        const state = await this.presence.state(channel.orgId, channel.space);
        this.send(connection, { join_ref: joinRef, ref: null, topic, event: 'presence_state', payload: state });
      }
    } catch (error) {
      this.metrics.joinRefusals.inc({ reason: error instanceof JoinRefused ? error.refusal : 'error' });
      if (error instanceof JoinRefused) return this.reply(connection, message, 'error', { reason: error.message });
      throw error;
    }
  }

  /** A private channel's rights; JoinRefused when the caller may not even read it. */
  private async channelAccess(claims: OrgClaims, name: string): Promise<ChannelAccess> {
    let access: ChannelAccess;
    try {
      access = await this.visibility.channelAccess(claims, name);
    } catch (error) {
      if (error instanceof ChannelAuthorizationUnavailable) throw new JoinRefused(error.message, 'unavailable');
      throw error;
    }
    if (!access.read) {
      throw new JoinRefused(
        `Unauthorized: You do not have permissions to read from this Channel topic: ${name} (no SELECT policy on realtime.messages allows it)`,
        'forbidden',
      );
    }
    return access;
  }

  /** The join's own access_token if it carries one (it must be of the connection's org), else the apikey's credential. */
  private async joinCredential(connection: Connection, accessToken: unknown): Promise<Credential> {
    if (accessToken === undefined || accessToken === null || accessToken === '') {
      const { expiresAt } = connection.credential;
      if (expiresAt !== undefined && expiresAt <= Date.now())
        throw new JoinRefused('the apikey expired: join with a fresh access_token', 'unauthorized');
      return connection.credential;
    }
    if (typeof accessToken !== 'string') throw new JoinRefused('access_token must be a string', 'unauthorized');
    const credential = await this.authenticate(accessToken, connection.source);
    if (!credential) throw new JoinRefused('invalid, expired or revoked access_token', 'unauthorized');
    if (credential.principal.orgId !== connection.credential.principal.orgId)
      throw new JoinRefused("the access_token is another org's", 'unauthorized');
    return credential;
  }

  private async binding(
    id: number,
    raw: unknown,
    principal: OrgPrincipal,
    columns: Map<string, ChangeColumn[]>,
    identities: Map<string, string[]>,
  ): Promise<ChannelBinding> {
    if (!isObject(raw)) throw new JoinRefused(`binding ${id} must be { event, schema, table?, filter? }`);
    const { event, schema, table, filter } = raw;
    if (typeof event !== 'string' || !CHANGE_EVENTS.has(event))
      throw new JoinRefused(`binding ${id}: event is *, INSERT, UPDATE or DELETE`);
    if (schema !== 'public' && schema !== '*') throw new JoinRefused(`binding ${id}: schema must be public (the org's own tables)`);
    if (filter !== undefined && filter !== null && typeof filter !== 'string')
      throw new JoinRefused(`binding ${id}: filter must be a string`);
    if (table !== undefined && table !== null && table !== '*' && typeof table !== 'string')
      throw new JoinRefused(`binding ${id}: table must be a string`);
    const name = typeof table === 'string' && table !== '*' ? table : undefined;
    let conditions;
    try {
      conditions = parseFilter(filter ?? undefined);
    } catch (error) {
      if (error instanceof InvalidFilterError) throw new JoinRefused(`binding ${id}: invalid filter: ${error.message}`);
      throw error;
    }
    if (name === undefined) {
      if (conditions.length > 0) throw new JoinRefused(`binding ${id}: a filter needs a table`);
      return { id, event: event as ChannelBinding['event'], conditions };
    }
    let known: ChangeColumn[];
    let replicaIdentity: string[];
    if (isVirtualTable(name)) {
      known = VIRTUAL_TABLES[name];
      replicaIdentity = name === 'tasks' ? ['id'] : known.map((column) => column.name);
    } else {
      // Platform tables answer as absent ones do: their rows are the platform's, not the org's.
      if (PLATFORM_OWNED_TABLES.has(name.toLowerCase())) throw new JoinRefused(`binding ${id}: no table public.${name}`);
      try {
        ({ columns: known, replicaIdentity } = await this.visibility.describe(claimsOf(principal), name));
      } catch (error) {
        if (error instanceof TableNotVisibleError) throw new JoinRefused(`binding ${id}: ${error.message}`);
        throw error;
      }
    }
    const unknown = conditions.filter((condition) => !known.some((column) => column.name === condition.column));
    if (unknown.length) throw new JoinRefused(`binding ${id}: table ${name} has no column ${unknown.map((c) => c.column).join(', ')}`);
    if (event === 'DELETE') {
      const absent = conditions.filter((condition) => !replicaIdentity.includes(condition.column));
      if (absent.length) {
        throw new JoinRefused(
          `binding ${id}: a DELETE carries only the replica identity of ${name} (${replicaIdentity.join(', ') || 'nothing'}), not ${absent.map((c) => c.column).join(', ')}; ALTER TABLE ${name} REPLICA IDENTITY FULL to filter deletes on any column`,
        );
      }
    }
    columns.set(name, known);
    identities.set(name, replicaIdentity);
    return { id, event: event as ChannelBinding['event'], table: name, conditions };
  }

  private async refreshToken(connection: Connection, channel: ServerChannel, message: PhoenixMessage): Promise<void> {
    const token = message.payload.access_token;
    const credential = typeof token === 'string' && token ? await this.authenticate(token, connection.source) : undefined;
    const same =
      credential && credential.principal.orgId === channel.orgId && credential.principal.tokenId === channel.credential.principal.tokenId;
    if (!credential || !same) {
      return this.closeChannel(
        connection,
        channel,
        credential ? 'the access_token belongs to another API token' : 'invalid, expired or revoked access_token',
      );
    }
    if (channel.access) {
      // Rights follow the credential: a refreshed token is judged by the policies again.
      const access = await this.visibility.channelAccess(claimsOf(credential.principal), channel.name);
      if (!access.read) return this.closeChannel(connection, channel, 'the refreshed access_token may not read this private channel');
      channel.access = access;
    }
    channel.credential = credential;
    clearTimeout(channel.expiry);
    this.armExpiry(connection, channel);
  }

  private async broadcast(connection: Connection, channel: ServerChannel, message: PhoenixMessage): Promise<void> {
    const { event, payload } = message.payload;
    if (typeof event !== 'string' || event.length === 0 || event.length > 255) {
      return this.reply(connection, message, 'error', { reason: 'a broadcast needs an event name of 1 to 255 characters' });
    }
    if (channel.access && !channel.access.broadcast) {
      return this.reply(connection, message, 'error', {
        reason: `Unauthorized: You do not have permissions to write to this Channel topic: ${channel.name} (no INSERT policy on realtime.messages allows extension broadcast)`,
      });
    }
    const data: ChannelBroadcastData = { event, payload: payload ?? {}, sender: channel.key };
    await this.stream.append(channel.orgId, {
      topic: Topic.channel(channel.space),
      type: EventType.channelBroadcast,
      at: new Date().toISOString(),
      data,
    });
    this.reply(connection, message, 'ok', {});
  }

  private async presenceMessage(connection: Connection, channel: ServerChannel, message: PhoenixMessage): Promise<void> {
    const { event, payload } = message.payload;
    if (event === 'track') {
      if (channel.access && !channel.access.presence) {
        return this.reply(connection, message, 'error', {
          reason: `Unauthorized: You do not have permissions to track presence on this Channel topic: ${channel.name} (no INSERT policy on realtime.messages allows extension presence)`,
        });
      }
      if (!isObject(payload)) return this.reply(connection, message, 'error', { reason: 'track takes an object payload' });
      const ref = channel.tracked?.ref ?? `${channel.key}:${randomUUID()}`;
      channel.tracked = { ref, key: channel.presenceKey, meta: payload };
      await this.presence.track(channel.orgId, channel.space, ref, channel.presenceKey, payload);
      return this.reply(connection, message, 'ok', {});
    }
    if (event === 'untrack') {
      const tracked = channel.tracked;
      channel.tracked = undefined;
      if (tracked) await this.presence.untrack(channel.orgId, channel.space, tracked.ref, tracked.key);
      return this.reply(connection, message, 'ok', {});
    }
    this.reply(connection, message, 'error', { reason: 'presence events are track and untrack' });
  }

  private leave(connection: Connection, channel: ServerChannel): void {
    if (connection.channels.get(channel.topic) === channel) {
      connection.channels.delete(channel.topic);
      this.metrics.channels.dec();
    }
    clearTimeout(channel.expiry);
    this.feed.remove(channel);
    const tracked = channel.tracked;
    channel.tracked = undefined;
    if (tracked) {
      this.presence
        .untrack(channel.orgId, channel.space, tracked.ref, tracked.key)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'untracking a presence failed; its lease ends it'));
    }
  }

  /** Tells the client why (a system message), then closes the channel. */
  private closeChannel(connection: Connection, channel: ServerChannel, reason: string): void {
    this.send(connection, {
      join_ref: channel.joinRef,
      ref: null,
      topic: channel.topic,
      event: 'system',
      payload: { channel: channel.name, extension: 'system', message: reason, status: 'error' },
    });
    this.leave(connection, channel);
    this.send(connection, { join_ref: channel.joinRef, ref: null, topic: channel.topic, event: 'phx_close', payload: {} });
  }

  private armExpiry(connection: Connection, channel: ServerChannel): void {
    const { expiresAt } = channel.credential;
    if (expiresAt === undefined) return;
    const remaining = expiresAt - Date.now();
    if (remaining <= 0) return this.closeChannel(connection, channel, 'the access_token expired: refresh it before it does');
    channel.expiry = setTimeout(() => this.armExpiry(connection, channel), Math.min(remaining, MAX_TIMER_MS));
    channel.expiry.unref();
  }

  private revoked(revocation: CredentialRevocation): void {
    for (const connection of this.connections) {
      const { principal } = connection.credential;
      if (revocation.scope === 'token' ? principal.tokenId === revocation.id : principal.orgId === revocation.id) {
        connection.socket.close(4001, 'credential revoked');
        continue;
      }
      for (const channel of [...connection.channels.values()]) {
        const hit = revocation.scope === 'token' ? channel.credential.principal.tokenId === revocation.id : channel.orgId === revocation.id;
        if (hit) this.closeChannel(connection, channel, 'the access_token was revoked');
      }
    }
  }

  private renewPresences(): void {
    const presences = [...this.connections].flatMap((connection) =>
      [...connection.channels.values()].flatMap((channel) =>
        channel.tracked ? [{ orgId: channel.orgId, channel: channel.space, ...channel.tracked }] : [],
      ),
    );
    this.presence.renew(presences).catch((error: unknown) => this.logger.warn({ err: error }, 'renewing presences failed'));
    this.slots
      .renew([...this.connections].map((connection) => connection.slot))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'renewing connection slots failed'));
    // Whichever process has the channel joined ends the presences of a process that died.
    const watched = new Map<string, { orgId: string; name: string }>();
    for (const connection of this.connections) {
      for (const channel of connection.channels.values()) {
        if (channel.presenceEnabled) watched.set(`${channel.orgId}\u0000${channel.space}`, { orgId: channel.orgId, name: channel.space });
      }
    }
    for (const { orgId, name } of watched.values()) {
      this.presence.reap(orgId, name).catch((error: unknown) => this.logger.warn({ err: error }, 'ending stale presences failed'));
    }
  }
}
