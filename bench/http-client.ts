import { Agent, request } from 'node:http';

/** Sockets the load generator keeps open per server, above any benchmark's concurrency. */
const MAX_SOCKETS = 1024;
/**
 * Kept-alive sockets, dropped by this side after 2 s idle: the server closes idle ones after
 * 5 s (Node's keepAliveTimeout), and a request written to a socket the server is closing at
 * that moment fails with ECONNRESET between rounds.
 */
const agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, timeout: 2000 });

/**
 * A lean HTTP client for load generation: node:http over kept-alive sockets. fetch costs
 * several times more CPU per request, which on a small machine would be measured as the
 * server's cost.
 */
export function httpJson(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method,
        agent,
        headers: payload ? { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : headers,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    outgoing.once('error', reject);
    outgoing.end(payload);
  });
}
