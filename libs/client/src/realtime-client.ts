import { io, type Socket } from 'socket.io-client';
import { AuthRevokedReason, RealtimeAuthMessage, type AuthRevokedNotice, type PlatformEvent } from '#libs/contracts';
import { AsyncQueue } from './async-queue.js';
import { compareEventIds } from './stream-order.js';

/** How long the client waits for the gateway to answer a subscribe before trying again. */
const ACK_TIMEOUT_MS = 10_000;
/** Pause before asking again after a subscribe went unanswered. */
const RETRY_MS = 1000;
/** Refresh a JWT this long before it expires at most (less for short-lived ones: a fifth of their life, at least a second). */
const REFRESH_LEAD_MAX_MS = 60_000;
const REFRESH_LEAD_MIN_MS = 1000;

/**
 * The realtime connection's credential: a fixed token, or a function that fetches a fresh
 * session JWT. A function is asked at every (re)connection and again before each JWT
 * expires, which the client then hands over with `auth.refresh` so the socket stays open.
 */
export type RealtimeCredential = string | (() => Promise<string>);

/** When a JWT's `exp` and `iat` say it should be refreshed (ms since the epoch); undefined for anything but a JWT with `exp`. */
function refreshTimeOf(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) return undefined;
  try {
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown; iat?: unknown };
    if (typeof claims.exp !== 'number') return undefined;
    const lifetimeMs = typeof claims.iat === 'number' ? (claims.exp - claims.iat) * 1000 : REFRESH_LEAD_MAX_MS * 5;
    return claims.exp * 1000 - Math.max(REFRESH_LEAD_MIN_MS, Math.min(REFRESH_LEAD_MAX_MS, lifetimeMs / 5));
  } catch {
    return undefined;
  }
}

export type SubscriptionTopic = 'task' | 'tasks' | 'resource' | 'worker' | 'table' | 'orgs' | 'config' | 'documents' | 'audit';

/** What to watch: see the README's realtime contract. */
export interface SubscribeRequest {
  topic: SubscriptionTopic;
  id?: string;
  filter?: Record<string, string | number | boolean | null>;
}

/**
 * What a subscription yields: first the snapshot, then events in order. A later snapshot
 * (`refetched: true`) means events were missed beyond recovery (the server no longer kept
 * them): it replaces what the consumer knew.
 */
export type RealtimeMessage<Snapshot = unknown> =
  { kind: 'snapshot'; snapshot: Snapshot; refetched: boolean } | { kind: 'event'; event: PlatformEvent };

/** A subscription the gateway refused (`not_found`, `invalid_payload`, ...), or a connection it refused. */
export class RealtimeSubscriptionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'RealtimeSubscriptionError';
  }
}

/** An async iterator of a subscription's messages; `close()` (or leaving a for-await loop) unsubscribes. */
export interface RealtimeSubscription<Snapshot = unknown> extends AsyncIterableIterator<RealtimeMessage<Snapshot>> {
  close(): void;
}

interface SubscribeAnswer {
  ok: boolean;
  subscription?: string;
  snapshot?: unknown;
  position?: string;
  error?: string;
  message?: string;
}

class LiveSubscription {
  readonly queue = new AsyncQueue<RealtimeMessage>();
  serverId?: string;
  /** Id of the last event handed to the consumer (or the position the subscription started at). */
  lastId?: string;
  closed = false;
  constructor(readonly request: SubscribeRequest) {}
}

/**
 * The realtime API over socket.io-client (Node and browsers). Reconnects by itself and
 * resubscribes with `since` = the last event id each subscription saw, so a consumer sees
 * neither a gap nor a duplicate; when the server no longer has those events it refetches
 * the snapshot and says so. Given a function for its credential, it refreshes session
 * JWTs before they expire. When the server ends the connection's authentication
 * (`auth_revoked`: token revoked, org deprovisioned), every subscription ends with a
 * RealtimeSubscriptionError whose code is the reason; after an expiry or a role change it
 * reconnects with a fresh credential when it can get one.
 */
export class RealtimeClient {
  /** The underlying socket, for consumers that want its connection events. */
  readonly socket: Socket;
  private readonly live = new Set<LiveSubscription>();
  private readonly byServerId = new Map<string, LiveSubscription>();
  private currentToken?: string;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private revoked?: AuthRevokedNotice;

  constructor(
    baseUrl: string,
    private readonly credential: RealtimeCredential,
  ) {
    const auth =
      typeof credential === 'string'
        ? { token: credential }
        : (callback: (data: object) => void) => {
            credential().then(
              (token) => {
                this.currentToken = token;
                callback({ token });
              },
              // No credential to offer: the server refuses the handshake and the subscriptions end with that refusal.
              () => callback({}),
            );
          };
    this.currentToken = typeof credential === 'string' ? credential : undefined;
    this.socket = io(`${baseUrl.replace(/\/$/, '')}/realtime`, { auth, transports: ['websocket'] });
    this.socket.on('connect', () => {
      this.revoked = undefined;
      this.scheduleRefresh();
      for (const subscription of this.live) this.attach(subscription);
    });
    this.socket.on(RealtimeAuthMessage.revoked, (notice: AuthRevokedNotice) => (this.revoked = notice));
    this.socket.on('disconnect', (reason) => {
      clearTimeout(this.refreshTimer);
      this.byServerId.clear();
      for (const subscription of this.live) subscription.serverId = undefined;
      if (reason === 'io server disconnect' && this.revoked) this.afterRevocation(this.revoked);
    });
    this.socket.on('event', (event: PlatformEvent & { subscriptions: string[] }) => this.onEvent(event));
    this.socket.on('resync', (notice: { subscriptions: { subscription: string }[] }) => {
      for (const { subscription: serverId } of notice.subscriptions) {
        const subscription = this.byServerId.get(serverId);
        this.byServerId.delete(serverId);
        if (subscription) {
          subscription.serverId = undefined;
          this.attach(subscription);
        }
      }
    });
    this.socket.on('connect_error', (error: Error) => {
      // Not active: the server refused the handshake (bad token) rather than being out of reach.
      if (this.socket.active) return;
      for (const subscription of this.live) subscription.queue.end(new RealtimeSubscriptionError('connection_refused', error.message));
      this.live.clear();
    });
  }

  /** Subscribes; the iterator yields the snapshot, then every matching event, across reconnects. */
  subscribe<Snapshot = unknown>(request: SubscribeRequest): RealtimeSubscription<Snapshot> {
    const subscription = new LiveSubscription(request);
    this.live.add(subscription);
    if (this.socket.connected) this.attach(subscription);
    const queue = subscription.queue as unknown as AsyncQueue<RealtimeMessage<Snapshot>>;
    const close = () => this.close(subscription);
    return {
      next: () => queue.next(),
      return: () => {
        close();
        return queue.return();
      },
      close,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Closes the connection and ends every subscription. */
  disconnect(): void {
    clearTimeout(this.refreshTimer);
    for (const subscription of [...this.live]) this.close(subscription);
    this.socket.close();
  }

  /** Hands the server a fresh JWT shortly before the current one expires, while a way to get one was given. */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    const refreshAt = typeof this.credential === 'function' && this.currentToken ? refreshTimeOf(this.currentToken) : undefined;
    if (refreshAt === undefined) return;
    this.refreshTimer = setTimeout(() => void this.refresh(), Math.max(0, refreshAt - Date.now()));
  }

  private async refresh(): Promise<void> {
    const fetchToken = this.credential as () => Promise<string>;
    try {
      const token = await fetchToken();
      const answer = (await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(RealtimeAuthMessage.refresh, { token })) as { ok: boolean };
      if (!answer.ok) throw new Error('refresh refused');
      this.currentToken = token;
      this.scheduleRefresh();
    } catch {
      // Try again shortly; should the credential expire first, the server says so and the client reconnects afresh.
      if (this.socket.connected) this.refreshTimer = setTimeout(() => void this.refresh(), RETRY_MS);
    }
  }

  /** After the server ended the connection's authentication: reconnect afresh where that can help, else end every subscription. */
  private afterRevocation(notice: AuthRevokedNotice): void {
    const renewable = notice.reason === AuthRevokedReason.credentialExpired || notice.reason === AuthRevokedReason.roleChanged;
    if (renewable && typeof this.credential === 'function') {
      this.socket.connect();
      return;
    }
    for (const subscription of this.live) subscription.queue.end(new RealtimeSubscriptionError(notice.reason, notice.message));
    this.live.clear();
  }

  private close(subscription: LiveSubscription): void {
    if (subscription.closed) return;
    subscription.closed = true;
    this.live.delete(subscription);
    if (subscription.serverId) {
      this.byServerId.delete(subscription.serverId);
      if (this.socket.connected) this.socket.emit('unsubscribe', { subscription: subscription.serverId });
    }
    subscription.queue.end();
  }

  /** (Re)subscribes on the current connection, from the last event seen when there is one. */
  private attach(subscription: LiveSubscription, refetch = false): void {
    const since = refetch ? undefined : subscription.lastId;
    const payload = { ...subscription.request, ...(since ? { since } : {}) };
    // The ack callback runs before any event packet that follows it is handled, so the mapping is in place for them.
    this.socket.timeout(ACK_TIMEOUT_MS).emit('subscribe', payload, (timeout: Error | null, answer: SubscribeAnswer) => {
      if (subscription.closed || !this.live.has(subscription)) {
        if (answer?.ok && this.socket.connected) this.socket.emit('unsubscribe', { subscription: answer.subscription });
        return;
      }
      if (timeout) {
        if (this.socket.connected) setTimeout(() => this.socket.connected && !subscription.serverId && this.attach(subscription), RETRY_MS);
        return;
      }
      if (!answer.ok && answer.error === 'since_expired') return this.attach(subscription, true);
      if (!answer.ok) {
        this.live.delete(subscription);
        subscription.queue.end(new RealtimeSubscriptionError(answer.error ?? 'refused', answer.message ?? 'subscription refused'));
        return;
      }
      subscription.serverId = answer.subscription!;
      this.byServerId.set(answer.subscription!, subscription);
      if (since) return;
      subscription.lastId = answer.position;
      subscription.queue.push({ kind: 'snapshot', snapshot: answer.snapshot, refetched: refetch });
    });
  }

  private onEvent({ subscriptions, ...event }: PlatformEvent & { subscriptions: string[] }): void {
    for (const serverId of subscriptions) {
      const subscription = this.byServerId.get(serverId);
      if (!subscription || subscription.closed) continue;
      if (subscription.lastId && compareEventIds(event.id, subscription.lastId) <= 0) continue;
      subscription.lastId = event.id;
      subscription.queue.push({ kind: 'event', event });
    }
  }
}
