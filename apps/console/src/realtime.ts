import { PlatformClient, type SubscribeRequest } from '#libs/client';
import { AuthRevokedReason, RealtimeAuthMessage, type AuthRevokedNotice, type PlatformEvent } from '#libs/contracts';
import { session } from './session.js';

/**
 * The console's live data, through the platform's client SDK: subscriptions yield a
 * snapshot then every change, and resume with `since` after a dropped connection, so
 * nothing is missed or shown twice; the offline banner shows while disconnected.
 */
export class Realtime {
  private client: PlatformClient | undefined;

  connect(token: string): void {
    this.client?.close();
    this.client = new PlatformClient({ url: location.origin, token });
    const socket = this.client.realtime.socket;
    socket.on('connect', () => setOffline(false));
    socket.on('disconnect', () => setOffline(true));
    socket.on('connect_error', () => setOffline(true));
    // The server closes the socket of a token revoked, expired or changed in role. A page may
    // make no HTTP request of its own (the workers page), so this signs a dead token out, to
    // sign-in and back, as a 401 does; a token with a new role is identified again.
    socket.on(RealtimeAuthMessage.revoked, (notice: AuthRevokedNotice) => {
      if (notice.reason !== AuthRevokedReason.roleChanged) session.token = null;
      session.identity = undefined;
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
  }

  /**
   * Subscribes; `onSnapshot` gets the current state (again after a gap too long to replay),
   * then `onEvent` every change; `onError` hears why a subscription was refused or ended.
   * Returns the unsubscribe.
   */
  subscribe(
    request: SubscribeRequest,
    onSnapshot: (snapshot: any) => void,
    onEvent: (event: PlatformEvent<any>) => void,
    onError: (error: Error & { code?: string }) => void = () => undefined,
  ): () => void {
    const subscription = this.client!.subscribe(request);
    void (async () => {
      for await (const message of subscription) {
        if (message.kind === 'snapshot') onSnapshot(message.snapshot);
        else onEvent(message.event);
      }
    })().catch(onError);
    return () => subscription.close();
  }
}

function setOffline(offline: boolean): void {
  document.getElementById('offline')!.hidden = !offline;
}

export const realtime = new Realtime();
