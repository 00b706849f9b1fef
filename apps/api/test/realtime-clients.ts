import { io, type Socket } from 'socket.io-client';
import { waitFor } from '#libs/testing';

/** How long a test waits for an ack from the gateway. */
const ACK_TIMEOUT_MS = 10_000;

export interface TestSocket {
  socket: Socket;
  /** Every `event` received, in order. */
  events: any[];
  /** Every `resync` received. */
  resyncs: any[];
  subscribe(payload: unknown): Promise<any>;
  unsubscribe(subscription: string): Promise<any>;
  /** Waits until `count` events matching `predicate` have arrived; returns them. */
  waitForEvents(count: number, predicate?: (event: any) => boolean, timeoutMs?: number): Promise<any[]>;
  close(): void;
}

/** Connects a raw Socket.IO client to the realtime namespace; resolves once connected, rejects with the refusal. */
export function connectRealtime(baseUrl: string, token: string | undefined): Promise<TestSocket> {
  const socket = io(`${baseUrl}/realtime`, { auth: token === undefined ? {} : { token }, transports: ['websocket'], reconnection: false });
  const events: any[] = [];
  const resyncs: any[] = [];
  socket.on('event', (event) => events.push(event));
  socket.on('resync', (notice) => resyncs.push(notice));
  return new Promise((resolve, reject) => {
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
    socket.once('connect', () =>
      resolve({
        socket,
        events,
        resyncs,
        subscribe: (payload) => socket.timeout(ACK_TIMEOUT_MS).emitWithAck('subscribe', payload),
        unsubscribe: (subscription) => socket.timeout(ACK_TIMEOUT_MS).emitWithAck('unsubscribe', { subscription }),
        waitForEvents: (count, predicate = () => true, timeoutMs = 10_000) =>
          waitFor(
            `${count} realtime events`,
            () => {
              const matching = events.filter(predicate);
              return matching.length >= count ? matching : undefined;
            },
            timeoutMs,
          ),
        close: () => socket.close(),
      }),
    );
  });
}
