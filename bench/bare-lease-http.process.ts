import { createServer } from 'node:http';
import { Redis } from 'ioredis';

/**
 * The resources benchmark's HTTP ceiling: a bare node:http server doing nothing but the bare
 * Lua lease, so the same load generator drives it with the same requests as the API.
 * `POST …/allocations` LPOPs a free id (201 with it, or 409 when none is free) and
 * `DELETE …/allocations/:id` RPUSHes it back (204). Arguments: port, Redis URL, list key.
 */
const [port, redisUrl, key] = process.argv.slice(2) as [string, string, string];
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const allocate = `return redis.call('LPOP', KEYS[1])`;
const release = `return redis.call('RPUSH', KEYS[1], ARGV[1])`;

const server = createServer((request, response) => {
  request.resume();
  request.once('end', () => {
    const url = request.url ?? '';
    if (request.method === 'POST' && url.endsWith('/allocations')) {
      void (redis.eval(allocate, 1, key) as Promise<string | null>).then((id) => {
        if (id === null) response.writeHead(409, { 'content-type': 'application/json' }).end('{"code":"POOL_EMPTY"}');
        else response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
      });
    } else if (request.method === 'DELETE' && url.includes('/allocations/')) {
      const id = decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
      void redis.eval(release, 1, key, id).then(() => response.writeHead(204).end());
    } else {
      response.writeHead(404).end();
    }
  });
});
server.listen(Number(port), '127.0.0.1', () => process.send?.({ ready: true }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
