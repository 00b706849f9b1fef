import { io, type Socket } from 'socket.io-client';

export interface PlatformEvent {
  id: string;
  org: string;
  topic: string;
  type: string;
  at: string;
  data: any;
}

export interface SubscribeRequest {
  topic: 'task' | 'tasks' | 'resource' | 'worker' | 'table';
  id?: string;
  filter?: Record<string, unknown>;
}

interface Subscription {
  request: SubscribeRequest;
  onEvent(event: PlatformEvent): void;
  onSnapshot(snapshot: any): void;
  /** Last event id seen: a reconnect resumes after it, so nothing is missed or repeated. */
  lastId?: string;
  serverId?: string;
}

/** Stream ids are `<ms>-<seq>`: compare them as pairs of numbers. */
function isAfter(id: string, than: string | undefined): boolean {
  if (!than) return true;
  const [ms, seq] = id.split('-').map(Number);
  const [thanMs, thanSeq] = than.split('-').map(Number);
  return ms! > thanMs! || (ms === thanMs && seq! > thanSeq!);
}

/**
 * The console's one Socket.IO connection to /realtime. Subscriptions survive a dropped
 * network: on reconnect each is renewed with `since` = the last event it saw, and the
 * offline banner shows meanwhile.
 */
export class Realtime {
  private socket: Socket | undefined;
  private readonly subscriptions = new Set<Subscription>();

  connect(token: string): void {
    this.socket?.disconnect();
    this.socket = io('/realtime', { auth: { token }, transports: ['websocket'] });
    this.socket.on('connect', () => {
      setOffline(false);
      for (const subscription of this.subscriptions) void this.send(subscription);
    });
    this.socket.on('disconnect', () => setOffline(true));
    this.socket.on('connect_error', () => setOffline(true));
    this.socket.on('event', (event: PlatformEvent) => {
      for (const subscription of this.subscriptions) {
        if (!matches(subscription.request, event) || !isAfter(event.id, subscription.lastId)) continue;
        subscription.lastId = event.id;
        subscription.onEvent(event);
      }
    });
  }

  /** Subscribes; `onSnapshot` gets the current state, then `onEvent` every change. Returns the unsubscribe. */
  subscribe(request: SubscribeRequest, onSnapshot: (snapshot: any) => void, onEvent: (event: PlatformEvent) => void): () => void {
    const subscription: Subscription = { request, onSnapshot, onEvent };
    this.subscriptions.add(subscription);
    if (this.socket?.connected) void this.send(subscription);
    return () => {
      this.subscriptions.delete(subscription);
      if (subscription.serverId) this.socket?.emit('unsubscribe', { subscription: subscription.serverId }, () => undefined);
    };
  }

  private async send(subscription: Subscription): Promise<void> {
    const payload = { ...subscription.request, ...(subscription.lastId ? { since: subscription.lastId } : {}) };
    const ack = await this.socket!.emitWithAck('subscribe', payload);
    if (ack?.ok) {
      subscription.serverId = ack.subscription;
      if (!subscription.lastId) subscription.onSnapshot(ack.snapshot);
    } else if (ack?.error === 'since_expired') {
      // Missed more than the stream keeps: start again from a fresh snapshot.
      subscription.lastId = undefined;
      await this.send(subscription);
    }
  }
}

function matches(request: SubscribeRequest, event: PlatformEvent): boolean {
  switch (request.topic) {
    case 'task':
      return event.topic === `task:${request.id}`;
    case 'tasks':
      return event.type === 'task.updated' && Object.entries(request.filter ?? {}).every(([field, value]) => event.data?.[field] === value);
    case 'worker':
      return event.topic.startsWith('worker:') && (!request.id || event.topic === `worker:${request.id}`);
    case 'resource':
      return event.topic.startsWith('resource:') && (!request.id || event.topic.endsWith(`:${request.id}`));
    case 'table':
      return event.topic === `table:${request.id}`;
  }
}

function setOffline(offline: boolean): void {
  document.getElementById('offline')!.hidden = !offline;
}

export const realtime = new Realtime();
