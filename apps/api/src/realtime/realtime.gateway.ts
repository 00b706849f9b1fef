import { Inject } from '@nestjs/common';
import {
  Ack,
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { Authenticator, LoginFailureLimiter, type OrgPrincipal } from '#libs/auth';
import { InvalidPayloadError, RateLimitedError, RealtimeAuthMessage, validatePayload } from '#libs/contracts';
import { PROCESS_LOGGER, type Logger } from '#libs/logging';
import { OrgEventStream } from '#libs/realtime';
import { Public } from '../auth/access.decorators.js';
import { EventFanout } from './event-fanout.service.js';
import { RealtimeLimitExceeded, RealtimeLimits } from './realtime-limits.service.js';
import { RealtimeTopics, SubscriptionRefused } from './realtime-topics.service.js';
import { SocketCredentials } from './socket-credentials.service.js';
import { SubscribeDto, UnsubscribeDto } from './subscribe.dto.js';

/** The Socket.IO namespace of the realtime API. */
export const REALTIME_NAMESPACE = '/realtime';

type AckFn = (answer: unknown) => void;

interface SocketState {
  principal: OrgPrincipal | { kind: 'platform-admin' };
  subscriptionCount: number;
}

/** The validated payload, or a SubscriptionRefused('invalid_payload') naming every bad field. */
function parse<T extends object>(type: new () => T, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SubscriptionRefused('invalid_payload', 'the payload must be an object');
  }
  try {
    return validatePayload(type, body);
  } catch (error) {
    if (error instanceof InvalidPayloadError) throw new SubscriptionRefused('invalid_payload', error.message);
    throw error;
  }
}

/**
 * The realtime API: Socket.IO namespace `/realtime`. The token (`auth: { token }`) is
 * checked at the handshake by the same Authenticator as HTTP; each `subscribe` is
 * validated, checked against what the caller's org may see, answered with a snapshot,
 * then followed by the matching events (after a replay from `since`).
 */
@WebSocketGateway({ namespace: REALTIME_NAMESPACE, cors: { origin: true } })
// The handshake authenticates every socket; the HTTP bearer guard has nothing to check per message.
@Public()
export class RealtimeGateway implements OnGatewayInit<Namespace>, OnGatewayDisconnect<Socket> {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly limiter: LoginFailureLimiter,
    private readonly topics: RealtimeTopics,
    private readonly fanout: EventFanout,
    private readonly stream: OrgEventStream,
    private readonly credentials: SocketCredentials,
    private readonly limits: RealtimeLimits,
    @Inject(PROCESS_LOGGER) private readonly logger: Logger,
  ) {}

  afterInit(namespace: Namespace): void {
    namespace.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (error: Error) => next(error),
      );
    });
    this.fanout.attach(namespace);
  }

  handleDisconnect(socket: Socket): void {
    this.fanout.removeAll(socket);
    this.credentials.forget(socket);
    this.limits
      .release(socket)
      .catch((error: unknown) => this.logger.warn({ err: error, socket: socket.id }, 'releasing a socket slot failed'));
  }

  /** Hands over a fresh credential of the same API token before the current one expires. */
  @SubscribeMessage(RealtimeAuthMessage.refresh)
  async refreshAuth(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown, @Ack() ack?: AckFn): Promise<void> {
    const answer = await this.credentials.refresh(socket, body);
    if (typeof ack === 'function') ack(answer);
  }

  @SubscribeMessage('subscribe')
  async subscribe(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown, @Ack() ack?: AckFn): Promise<void> {
    const reply = (answer: unknown) => (typeof ack === 'function' ? ack(answer) : undefined);
    let releaseSlot = () => {};
    let endTurn = () => {};
    let uncount = () => {};
    try {
      const request = parse(SubscribeDto, body);
      const state = socket.data as SocketState;
      // Taken before the first await: subscribes sent without waiting for acks count at once.
      releaseSlot = this.limits.reserveSubscription(socket);
      // The org's subscribes are set up in turn, so a flood of them waits on its own org.
      endTurn = await this.limits.subscribeTurn(socket);
      if (socket.disconnected) return;
      uncount = await this.limits.reserveOrgSubscription(socket);
      const plan = state.principal.kind === 'org' ? this.topics.plan(state.principal, request) : this.topics.planForAdmin(request);
      // The position is taken before the snapshot: a change racing the snapshot is then sent as an event too, never lost.
      if (request.since && (await this.stream.sinceExpired(plan.streamOrg, request.since))) {
        return reply({ ok: false, error: 'since_expired', message: 'events after since are no longer kept: fetch the snapshot again' });
      }
      const position = request.since ?? (await this.stream.lastId(plan.streamOrg));
      const snapshot = await plan.snapshot();
      await this.limits.chargeSnapshot(socket, snapshot);
      if (socket.disconnected) return;
      const id = `s${++state.subscriptionCount}`;
      reply({ ok: true, subscription: id, snapshot, position });
      this.fanout.add({ id, socket, plan, lastId: position, replaying: true, pending: [], closed: false });
    } catch (error) {
      if (error instanceof SubscriptionRefused) return reply({ ok: false, error: error.code, message: error.message });
      // A realtime cap, or one of the org's shared ones (its database connections) reached while reading the snapshot.
      if (error instanceof RealtimeLimitExceeded || error instanceof RateLimitedError)
        return reply({ ok: false, error: 'limit_exceeded', limit: error.limit, message: error.message });
      this.logger.error({ err: error, socket: socket.id }, 'realtime subscribe failed');
      reply({ ok: false, error: 'internal', message: 'the subscription could not be set up; try again' });
    } finally {
      // Registered with the fanout by now (counted there) or failed.
      uncount();
      endTurn();
      releaseSlot();
    }
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: Socket, @MessageBody() body: unknown, @Ack() ack?: AckFn): void {
    const reply = (answer: unknown) => (typeof ack === 'function' ? ack(answer) : undefined);
    try {
      const { subscription } = parse(UnsubscribeDto, body);
      if (!this.fanout.remove(socket, subscription))
        return reply({ ok: false, error: 'not_found', message: `no subscription ${subscription}` });
      reply({ ok: true });
    } catch (error) {
      if (error instanceof SubscriptionRefused) return reply({ ok: false, error: error.code, message: error.message });
      throw error;
    }
  }

  /** Accepts an org API token, session JWT or the platform admin token; anything else refuses the connection (and counts as a failed login). */
  private async authenticate(socket: Socket): Promise<void> {
    const source = socket.handshake.address || 'unknown';
    if (await this.limiter.isBlocked(source)) throw new Error('too many failed logins from this address; try again later');
    const token: unknown = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const credential = typeof token === 'string' && token.length > 0 ? await this.authenticator.verify(token) : undefined;
    if (!credential) {
      await this.limiter.recordFailure(source);
      this.logger.warn({ source, reason: token ? 'unknown or expired credential' : 'no token' }, 'failed realtime login');
      throw new Error(token ? 'invalid, expired or revoked token' : 'missing token (auth: { token })');
    }
    const { principal } = credential;
    if (principal.kind === 'org') {
      try {
        await this.limits.admit(socket, principal);
      } catch (error) {
        // The client sees the message and, in `data`, which cap refused it, after the hold.
        if (error instanceof RealtimeLimitExceeded) {
          await this.limits.holdRefusal(principal.orgId);
          throw Object.assign(new Error(error.message), { data: { error: 'limit_exceeded', limit: error.limit } });
        }
        throw error;
      }
    }
    // The platform admin may watch only the platform's org instances (topic "orgs"); every other topic is an org's.
    const state: SocketState = { principal, subscriptionCount: 0 };
    Object.assign(socket.data as object, state);
    this.credentials.watch(socket, credential);
  }
}
