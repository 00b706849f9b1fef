import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';

/**
 * A load process of the supabase-realtime benchmark (forked, IPC): opens `connections`
 * connections with `channels` subscriptions in all to one table's INSERTs, either as
 * supabase-js channels or as Socket.IO `table` subscriptions, and records for each
 * delivery its receipt time minus the row's commit time. Answers `collect` with what it
 * has recorded since the last one; exits when its parent goes.
 */
const [kind, url, token, table, channelsArg, connectionsArg] = process.argv.slice(2) as [
  'supabase' | 'socketio',
  string,
  string,
  string,
  string,
  string,
];
const channels = Number(channelsArg);
const connections = Number(connectionsArg);
const perConnection = Math.ceil(channels / connections);
let latencies: number[] = [];

async function supabaseCrowd(): Promise<SupabaseClient[]> {
  const clients: SupabaseClient[] = [];
  for (let c = 0; c < connections; c++) {
    const client = createClient(url, token, {
      auth: { persistSession: false, autoRefreshToken: false },
      realtime: { transport: WebSocket as never, timeout: 60_000 },
    });
    clients.push(client);
    await Promise.all(
      Array.from(
        { length: perConnection },
        (_, i) =>
          new Promise<void>((resolve, reject) => {
            client
              .channel(`bench-${process.pid}-${c}-${i}`)
              .on('postgres_changes', { event: 'INSERT', schema: 'public', table }, (payload) => {
                latencies.push(Date.now() - Date.parse(payload.commit_timestamp));
              })
              .subscribe((status, error) => {
                if (status === 'SUBSCRIBED') resolve();
                else if (status !== 'CLOSED') reject(error ?? new Error(status));
              });
          }),
      ),
    );
  }
  return clients;
}

async function socketIoCrowd(): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let c = 0; c < connections; c++) {
    const socket = io(`${url}/realtime`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    socket.on('event', (event: { data: { commitTimestamp: string }; subscriptions: string[] }) => {
      const latency = Date.now() - Date.parse(event.data.commitTimestamp);
      // One packet answers every matching subscription of the socket: each is one delivery.
      for (let i = 0; i < event.subscriptions.length; i++) latencies.push(latency);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    for (let i = 0; i < perConnection; i++) {
      const answer = (await socket.timeout(60_000).emitWithAck('subscribe', { topic: 'table', id: table })) as { ok: boolean };
      if (!answer.ok) throw new Error(`subscribe refused: ${JSON.stringify(answer)}`);
    }
    sockets.push(socket);
  }
  return sockets;
}

process.on('disconnect', () => process.exit(0));
process.on('message', (message: { command: string }) => {
  if (message.command !== 'collect') return;
  process.send!({ latencies });
  latencies = [];
});
(kind === 'supabase' ? supabaseCrowd() : socketIoCrowd()).then(
  () => process.send!({ ready: true }),
  (error: Error) => {
    process.send!({ error: error.message });
    process.exit(1);
  },
);
