/**
 * The Lua scripts of realtime connection slots, shared by the Socket.IO sockets
 * (RealtimeLimits) and the Supabase connections (ConnectionSlots): both kinds hold slots in
 * the same sorted sets, so REALTIME_SOCKETS_PER_ORG and REALTIME_SOCKETS_PER_TOKEN count them together.
 */

/** Drops slots whose lease ran out (their API process died), with their subscription counts. Needs `now` and KEYS[1] (org sockets), KEYS[3] (org subscriptions). */
export const FORGET_EXPIRED = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for index = 1, #expired do
  redis.call('HDEL', KEYS[3], expired[index])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
`;

/**
 * KEYS: org sockets, token sockets, org subscriptions. ARGV: slot, lease ms, most per org, most per token.
 * Returns 'ok' or the name of the cap that is full.
 */
export const ADMIT_SOCKET = `${FORGET_EXPIRED}
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 'REALTIME_SOCKETS_PER_ORG' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'REALTIME_SOCKETS_PER_TOKEN' end
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
for index = 1, 3 do redis.call('PEXPIRE', KEYS[index], lease * 2) end
return 'ok'
`;

/** KEYS: org sockets, token sockets, org subscriptions. ARGV: slot, lease ms, the socket's subscriptions. Renews a live socket's lease (never re-adds a released one). */
export const RENEW_SOCKET = `
local clock = redis.call('TIME')
local expiry = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) + tonumber(ARGV[2])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
for index = 1, 3 do redis.call('PEXPIRE', KEYS[index], tonumber(ARGV[2]) * 2) end
return 1
`;

/** KEYS: org sockets, token sockets, org subscriptions. ARGV: slot. */
export const RELEASE_SOCKET = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
`;
