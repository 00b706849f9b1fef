import { session } from './session.js';

/** An answer of the API that was not 2xx; `message` is what the API said. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the platform's REST API with the signed-in token. */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${session.token ?? ''}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const answer = text ? JSON.parse(text) : undefined;
  if (response.status === 401 && session.identity) {
    // The token was revoked or expired while signed in: back to sign-in, which returns here after.
    session.token = null;
    session.identity = undefined;
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  }
  if (!response.ok) {
    const message = Array.isArray(answer?.message) ? answer.message.join('; ') : (answer?.message ?? response.statusText);
    throw new ApiError(response.status, message);
  }
  return answer as T;
}
