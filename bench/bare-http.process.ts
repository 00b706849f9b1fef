import { createServer } from 'node:http';

/** The HTTP benchmark's baseline: a bare node:http server answering every request as /health/live does. Argument: port. */
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.({ ready: true }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
