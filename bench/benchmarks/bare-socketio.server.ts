import { createServer } from 'node:http';
import { Server } from 'socket.io';

/**
 * The realtime benchmark's baseline: a plain Socket.IO server on 127.0.0.1 that, asked by
 * a client (`burst`), broadcasts `count` small events to every socket, `intervalMs` apart.
 * Run as its own process (port as the first argument) so its memory is measured alone.
 */
const port = Number(process.argv[2]);
const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
let sequence = 0;
io.on('connection', (socket) => {
  socket.on('subscribe', (_payload: unknown, ack: (answer: unknown) => void) => ack({ ok: true }));
  socket.on('burst', async ({ count, intervalMs }: { count: number; intervalMs: number }, ack: () => void) => {
    for (let i = 0; i < count; i++) {
      io.emit('event', { id: `${Date.now()}-${sequence++}`, topic: 'bench', type: 'bench', at: new Date().toISOString(), data: { i } });
      if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
      else if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    ack();
  });
});
http.listen(port, '127.0.0.1', () => process.stdout.write(`bare socket.io listening on ${port}\n`));
process.on('SIGTERM', () => {
  void io.close();
  process.exit(0);
});
