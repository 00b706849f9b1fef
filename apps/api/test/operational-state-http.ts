/** A raw HTTP call with headers in and out, for the conditional-request routes (ETag, If-Match, If-None-Match). */
export interface RawAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * Calls `baseUrl + path` with a bearer token; `body` is sent as JSON, `rawBody` as is
 * (to send malformed JSON). An empty answer has body undefined.
 */
export async function call(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const hasBody = options.body !== undefined || options.rawBody !== undefined;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** Creates an org token of `role` with the org's admin token; returns its id and secret. */
export async function createToken(baseUrl: string, adminToken: string, role: 'admin' | 'member' | 'viewer', name = `${role}-token`) {
  const created = await call(baseUrl, adminToken, 'POST', '/v1/tokens', { body: { name, role } });
  if (created.status !== 201) throw new Error(`creating a ${role} token answered ${created.status}`);
  return { id: created.body.id as string, token: created.body.token as string };
}
