import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

/**
 * The realtime benchmark's baseline, shaped like the platform's pipeline without the
 * platform: one process reading a Redis stream (XREAD BLOCK, one connection) and emitting
 * each entry to the Socket.IO room its topic names, where every socket keeps one
 * subscription (a room). Arguments: port, Redis URL, stream key.
 */
const [port, redisUrl, key] = process.argv.slice(2) as [string, string, string];
const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
const realtime = io.of('/realtime');
realtime.on('connection', (socket) => {
  socket.on('subscribe', ({ topic }: { topic: string }, ack: (answer: unknown) => void) => {
    void socket.join(topic);
    ack({ ok: true });
  });
});

const reader = new Redis(redisUrl, { maxRetriesPerRequest: null });
let closed = false;
async function read(): Promise<void> {
  let cursor = '$';
  while (!closed) {
    const answer = (await reader.xread('COUNT', 1000, 'BLOCK', 5000, 'STREAMS', key, cursor).catch(() => null)) as
      [string, [string, string[]][]][] | null;
    for (const [, entries] of answer ?? []) {
      for (const [id, fields] of entries) {
        cursor = id;
        const event = JSON.parse(fields[1]!) as { topic: string };
        realtime.to(event.topic).emit('event', { id, ...event });
      }
    }
  }
}

http.listen(Number(port), '127.0.0.1', () => {
  void read();
  process.send?.({ ready: true });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  closed = true;
  reader.disconnect();
  void io.close();
  process.exit(0);
});
