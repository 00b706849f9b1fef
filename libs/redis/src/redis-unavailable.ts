/**
 * Replies by which Redis refuses a command for what it is now, not for the command itself:
 * a replica or a failed-over primary (READONLY), a server still loading its data, a cluster
 * whose slot has no serving primary (CLUSTERDOWN), a slot on the move (MOVED, ASK,
 * TRYAGAIN), a primary cut off from its replicas (MASTERDOWN, NOREPLICAS). Redis 7 passes
 * the code of a command that failed inside a script through as the script's own error.
 */
const UNAVAILABLE_REPLY = /^(READONLY|LOADING|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|MOVED|ASK|NOREPLICAS)\b/;

/** What ioredis says when it gave up reaching a server or a cluster (its messages, as it spells them). */
const UNAVAILABLE_CLIENT = [
  'Connection is closed.',
  'Too many Cluster redirections.',
  'Failed to refresh slots cache.',
  'None of startup nodes is available',
  'Cluster is ended.',
  "Cluster isn't ready",
  'Command timed out',
  "Stream isn't writeable",
  'Reached the max retries per request limit',
];

/** Socket errors of a connection to Redis. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTCONN']);

/**
 * True when `error` says Redis could not serve a command right now (lost connection,
 * failover, resharding, loading) rather than that the command was wrong: the same
 * command succeeds once the deployment settles, so the caller retries or answers 503,
 * and never counts it against what it was doing.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (UNAVAILABLE_REPLY.test(error.message)) return true;
  return UNAVAILABLE_CLIENT.some((text) => error.message.startsWith(text));
}
