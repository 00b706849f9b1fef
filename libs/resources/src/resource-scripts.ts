import { LUA_APPEND_EVENT } from '#libs/event-stream';
import { LUA_HASH_JSON } from '#libs/redis';

/**
 * Lua scripts of the resource tier. Redis is authoritative for current allocation, so
 * every change is one script: it changes the state, appends the `resource.updated`
 * events to the org's event stream and appends the change to the org's write-behind
 * stream (what the sync writer persists to Postgres), all in one atomic step.
 *
 * Every script but LOAD starts by checking the org's marker key: no marker means Redis
 * lost the org's resource state, and the caller must rebuild it from Postgres first.
 * Time is Redis' own clock (TIME), so every process agrees on when a lease ends.
 *
 * KEYS: marker, event stream, change stream.
 * ARGV: key base of the org's resource keys, the events' settings as JSON ({ maxLen, type,
 * topic template }), wake channel,
 * ended-allocation retention (s), then the script's own arguments from ARGV[5].
 * Other keys are built from the key base; they carry the org's hash tag, so a script
 * stays on one Redis Cluster slot. Hashes hold JSON texts, joined without decoding.
 */

const PRELUDE = `
local base, events, wake_channel, retention = ARGV[1], cjson.decode(ARGV[2]), ARGV[3], ARGV[4]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return { 'unloaded' }
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

-- Milliseconds since the epoch as ISO-8601 UTC (days to civil date, proleptic Gregorian).
local function iso(ms)
  local seconds = math.floor(ms / 1000)
  local days = math.floor(seconds / 86400)
  local of_day = seconds % 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', year, month, day,
    math.floor(of_day / 3600), math.floor(of_day % 3600 / 60), of_day % 60, ms % 1000)
end
local at = iso(now)

local function key(...)
  return base .. ':' .. table.concat({ ... }, ':')
end
${LUA_HASH_JSON}${LUA_APPEND_EVENT}-- The event type and the topic template (Topic.resource('{kind}', '{id}')) come from #libs/contracts.
local function emit(kind, id, data)
  local topic = string.gsub(events.topic, '{kind}', kind)
  topic = string.gsub(topic, '{id}', id)
  append_event(KEYS[2], events.maxLen, events.type, topic, at, data)
end
-- Never trimmed: an entry leaves only once the sync writer has it in Postgres.
local function record(kind, action, data)
  local rev = redis.call('INCR', key('rev'))
  redis.call('XADD', KEYS[3], '*', 'rev', rev, 'kind', kind, 'action', action, 'at', at, 'data', data)
end
local function pool_view(pool_id)
  local pool = redis.call('HGET', key('pools'), pool_id)
  local c = redis.call('HMGET', key('pool', pool_id, 'counts'), 'free', 'allocated', 'retired')
  return string.sub(pool, 1, -2) .. ',"counts":{"free":' .. (c[1] or '0') .. ',"allocated":' .. (c[2] or '0') .. ',"retired":' .. (c[3] or '0') .. '}}'
end
local function count(pool_id, field, by)
  redis.call('HINCRBY', key('pool', pool_id, 'counts'), field, by)
end
local function changed_pool(pool_id)
  emit('pool', pool_id, pool_view(pool_id))
end
local function changed_env(env_id)
  local env = hash_json(key('env', env_id))
  record('environment', 'changed', env)
  emit('environment', env_id, env)
end
local function changed_alloc(alloc_id, action)
  local alloc = hash_json(key('alloc', alloc_id))
  record('allocation', action, alloc)
  emit('allocation', alloc_id, alloc)
end

local function grant(pool_id, env_id, alloc_id, holder, ttl_ms)
  local env_key, alloc_key = key('env', env_id), key('alloc', alloc_id)
  local expires = now + ttl_ms
  redis.call('HSET', alloc_key, 'id', cjson.encode(alloc_id), 'poolId', cjson.encode(pool_id), 'environmentId', cjson.encode(env_id),
    'holder', cjson.encode(holder), 'status', '"active"', 'createdAt', cjson.encode(at), 'expiresAt', cjson.encode(iso(expires)))
  redis.call('HSET', env_key, 'status', '"allocated"', 'allocationId', cjson.encode(alloc_id), 'updatedAt', cjson.encode(at))
  redis.call('ZADD', key('expiries'), expires, alloc_id)
  redis.call('SADD', key('holder', holder), alloc_id)
  count(pool_id, 'free', -1)
  count(pool_id, 'allocated', 1)
  changed_alloc(alloc_id, 'allocated')
  changed_env(env_id)
  changed_pool(pool_id)
  return alloc_key
end

-- Hands free environments to waiters, oldest waiter first; waiters whose record
-- expired (their caller gave up or died) are skipped.
local function serve_waiters(pool_id)
  local waiters, free = key('pool', pool_id, 'waiters'), key('pool', pool_id, 'free')
  while redis.call('LLEN', waiters) > 0 and redis.call('LLEN', free) > 0 do
    local token = redis.call('LPOP', waiters)
    local waiter = key('waiter', token)
    local w = redis.call('HMGET', waiter, 'allocationId', 'holder', 'ttlMs')
    if w[1] then
      grant(pool_id, redis.call('LPOP', free), w[1], w[2], tonumber(w[3]))
      redis.call('HSET', waiter, 'granted', '1')
      redis.call('PUBLISH', wake_channel, token)
    end
  end
end

-- Ends a live allocation as 'released' or 'expired' and frees its environment.
local function finish(alloc_id, status)
  local alloc_key = key('alloc', alloc_id)
  local f = redis.call('HMGET', alloc_key, 'status', 'poolId', 'environmentId', 'holder')
  if not f[1] then return 'missing' end
  if f[1] ~= '"active"' then return f[1] end
  local pool_id, env_id, holder = cjson.decode(f[2]), cjson.decode(f[3]), cjson.decode(f[4])
  redis.call('HSET', alloc_key, 'status', cjson.encode(status), 'endedAt', cjson.encode(at))
  redis.call('EXPIRE', alloc_key, retention)
  redis.call('ZREM', key('expiries'), alloc_id)
  redis.call('SREM', key('holder', holder), alloc_id)
  changed_alloc(alloc_id, status)
  local env_key = key('env', env_id)
  if redis.call('HGET', env_key, 'allocationId') == cjson.encode(alloc_id) then
    redis.call('HSET', env_key, 'status', '"free"', 'updatedAt', cjson.encode(at))
    redis.call('HDEL', env_key, 'allocationId')
    redis.call('RPUSH', key('pool', pool_id, 'free'), env_id)
    count(pool_id, 'allocated', -1)
    count(pool_id, 'free', 1)
    changed_env(env_id)
    changed_pool(pool_id)
    serve_waiters(pool_id)
  end
  return 'ok'
end
local function allocation_answer(alloc_key)
  local env_id = cjson.decode(redis.call('HGET', alloc_key, 'environmentId'))
  return { 'ok', hash_json(alloc_key), hash_json(key('env', env_id)) }
end
`;

/** ARGV[5..]: pool id, name, kind, most pools of the org. Returns { 'ok', pool view }, { 'conflict' } (name taken) or { 'limit' }. */
export const CREATE_POOL = `${PRELUDE}
local id, name = ARGV[5], ARGV[6]
if redis.call('HEXISTS', key('pool-names'), name) == 1 then
  return { 'conflict' }
end
if redis.call('HLEN', key('pools')) >= tonumber(ARGV[8]) then
  return { 'limit' }
end
redis.call('HSET', key('pool-names'), name, id)
local pool = cjson.encode({ id = id, name = name, kind = ARGV[7], createdAt = at })
redis.call('HSET', key('pools'), id, pool)
redis.call('HSET', key('pool', id, 'counts'), 'free', 0, 'allocated', 0, 'retired', 0)
record('pool', 'changed', pool)
changed_pool(id)
return { 'ok', pool_view(id) }
`;

/**
 * ARGV[5..]: pool id, environment id, name, attributes JSON, most environments of one pool.
 * Returns { 'ok', env } | { 'missing' } | { 'conflict' } | { 'limit' }.
 */
export const ADD_ENVIRONMENT = `${PRELUDE}
local pool_id, env_id, name = ARGV[5], ARGV[6], ARGV[7]
if redis.call('HEXISTS', key('pools'), pool_id) == 0 then
  return { 'missing' }
end
local envs_key = key('pool', pool_id, 'envs')
if redis.call('HEXISTS', envs_key, name) == 1 then
  return { 'conflict', 'an environment of this pool is named ' .. name }
end
if redis.call('HLEN', envs_key) >= tonumber(ARGV[9]) then
  return { 'limit' }
end
redis.call('HSET', envs_key, name, env_id)
local env_key = key('env', env_id)
redis.call('HSET', env_key, 'id', cjson.encode(env_id), 'poolId', cjson.encode(pool_id), 'name', cjson.encode(name),
  'attributes', ARGV[8], 'status', '"free"', 'createdAt', cjson.encode(at), 'updatedAt', cjson.encode(at))
redis.call('RPUSH', key('pool', pool_id, 'free'), env_id)
count(pool_id, 'free', 1)
changed_env(env_id)
changed_pool(pool_id)
local env = hash_json(env_key)
serve_waiters(pool_id)
return { 'ok', env }
`;

const ENVIRONMENT_OF_POOL = `
local pool_id, env_id = ARGV[5], ARGV[6]
local env_key = key('env', env_id)
local current = redis.call('HMGET', env_key, 'poolId', 'status')
if not current[1] or current[1] ~= cjson.encode(pool_id) then
  return { 'missing' }
end
`;

/** ARGV[5..]: pool id, environment id, attributes JSON. Returns { 'ok', env } | { 'missing' } | { 'conflict', why }. */
export const UPDATE_ENVIRONMENT = `${PRELUDE}${ENVIRONMENT_OF_POOL}
if current[2] == '"retired"' then
  return { 'conflict', 'the environment is retired' }
end
redis.call('HSET', env_key, 'attributes', ARGV[7], 'updatedAt', cjson.encode(at))
changed_env(env_id)
changed_pool(pool_id)
return { 'ok', hash_json(env_key) }
`;

/** ARGV[5..]: pool id, environment id. Returns { 'ok', env } | { 'missing' } | { 'conflict', why }; retiring twice is fine. */
export const RETIRE_ENVIRONMENT = `${PRELUDE}${ENVIRONMENT_OF_POOL}
if current[2] == '"allocated"' then
  return { 'conflict', 'the environment is allocated; release its allocation first' }
end
if current[2] == '"free"' then
  redis.call('LREM', key('pool', pool_id, 'free'), 0, env_id)
  redis.call('HSET', env_key, 'status', '"retired"', 'updatedAt', cjson.encode(at))
  count(pool_id, 'free', -1)
  count(pool_id, 'retired', 1)
  changed_env(env_id)
  changed_pool(pool_id)
end
return { 'ok', hash_json(env_key) }
`;

/**
 * ARGV[5..]: pool (its name, else its id), allocation id, holder, ttl ms, waiter token ('' for no wait), waiter record ttl ms,
 * most waiters the pool may have for this caller to join them (0: no limit).
 * Returns { 'ok', allocation, env } | { 'missing' } | { 'none' } | { 'waiting' } (queued last among the pool's waiters)
 * | { 'limit' } (that many wait already).
 */
export const ALLOCATE = `${PRELUDE}
local alloc_id, holder, token = ARGV[6], ARGV[7], ARGV[9]
local pool_id = redis.call('HGET', key('pool-names'), ARGV[5]) or ARGV[5]
if redis.call('HEXISTS', key('pools'), pool_id) == 0 then
  return { 'missing' }
end
local env_id = redis.call('LPOP', key('pool', pool_id, 'free'))
if env_id then
  return allocation_answer(grant(pool_id, env_id, alloc_id, holder, tonumber(ARGV[8])))
end
if token == '' then
  return { 'none' }
end
local waiters = key('pool', pool_id, 'waiters')
local max_waiters = tonumber(ARGV[11] or '0')
if max_waiters > 0 and redis.call('LLEN', waiters) >= max_waiters then
  return { 'limit' }
end
local waiter = key('waiter', token)
redis.call('HSET', waiter, 'allocationId', alloc_id, 'holder', holder, 'ttlMs', ARGV[8])
redis.call('PEXPIRE', waiter, ARGV[10])
redis.call('RPUSH', waiters, token)
return { 'waiting' }
`;

/** ARGV[5..]: pool id, waiter token. Leaves the queue; returns { 'ok', allocation, env } if an environment was handed over, else { 'none' }. */
export const COLLECT_WAITER = `${PRELUDE}
local waiter = key('waiter', ARGV[6])
redis.call('LREM', key('pool', ARGV[5], 'waiters'), 1, ARGV[6])
local w = redis.call('HMGET', waiter, 'granted', 'allocationId')
redis.call('DEL', waiter)
if w[1] then
  return allocation_answer(key('alloc', w[2]))
end
return { 'none' }
`;

/** ARGV[5..]: allocation id, ttl ms. The lease then ends ttl from now. Returns { 'ok', allocation, env } | { 'missing' } | { 'conflict', status }. */
export const EXTEND = `${PRELUDE}
local alloc_id = ARGV[5]
local alloc_key = key('alloc', alloc_id)
local f = redis.call('HMGET', alloc_key, 'status', 'poolId')
if not f[1] then
  return { 'missing' }
end
if f[1] ~= '"active"' then
  return { 'conflict', f[1] }
end
local expires = now + tonumber(ARGV[6])
redis.call('HSET', alloc_key, 'expiresAt', cjson.encode(iso(expires)))
redis.call('ZADD', key('expiries'), expires, alloc_id)
changed_alloc(alloc_id, 'extended')
changed_pool(cjson.decode(f[2]))
return allocation_answer(alloc_key)
`;

/** ARGV[5]: allocation id. Returns { 'ok', allocation } | { 'missing' } | { 'conflict', status }. */
export const RELEASE = `${PRELUDE}
local outcome = finish(ARGV[5], 'released')
if outcome == 'ok' then
  return { 'ok', hash_json(key('alloc', ARGV[5])) }
end
if outcome == 'missing' then
  return { 'missing' }
end
return { 'conflict', outcome }
`;

/** ARGV[5]: holder. Releases every live allocation of the holder; returns { 'ok', how many }. */
export const RELEASE_HOLDER = `${PRELUDE}
local ids = redis.call('SMEMBERS', key('holder', ARGV[5]))
for _, id in ipairs(ids) do
  finish(id, 'released')
end
return { 'ok', #ids }
`;

/** ARGV[5]: most allocations to expire. Ends allocations past their expiry as 'expired'; returns { 'ok', how many }. */
export const EXPIRE_DUE = `${PRELUDE}
local ids = redis.call('ZRANGEBYSCORE', key('expiries'), '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(ids) do
  finish(id, 'expired')
end
return { 'ok', #ids }
`;

/**
 * KEYS: marker. ARGV[1]: JSON array of Redis commands (arrays of strings) that recreate
 * the org's state. Runs them and sets the marker, unless another process did first.
 * Returns 1 if it loaded, 0 if the state was there already.
 */
export const LOAD = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
for _, command in ipairs(cjson.decode(ARGV[1])) do
  redis.call(unpack(command))
end
redis.call('SET', KEYS[1], '1')
return 1
`;
