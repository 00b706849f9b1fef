import { LUA_HASH_JSON } from '#libs/redis';

/**
 * Lua scripts of the task tier. Each changes a task and appends its event to the org's
 * event stream in one atomic step, so a client replaying the stream never sees a state
 * the store did not have, nor misses one. Every key they touch carries the org's hash
 * tag, so a script stays on one Redis Cluster slot.
 *
 * A task is a hash whose values are JSON texts; scripts never decode them (Lua's cjson
 * would turn empty arrays into objects), they only join them into the event's JSON.
 */

const HELPERS = `${LUA_HASH_JSON}
local function append_event(stream, max_len, event_type, topic, at, data)
  return redis.call('XADD', stream, 'MAXLEN', '~', max_len, '*', 'type', event_type, 'topic', topic, 'at', at, 'data', data)
end
local function set_fields(key, first)
  for i = first, #ARGV, 2 do
    redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  end
end
`;

/**
 * KEYS: task, index, idempotency, stream, backlog
 * ARGV: task id, created-at ms, idempotency ttl s (0: none), stream max len, topic, at, then field/json pairs
 * Returns { 'existing', task id } or { 'created', backlog rank }.
 */
export const CREATE_TASK = `${HELPERS}
if ARGV[3] ~= '0' then
  local existing_id = redis.call('GET', KEYS[3])
  if existing_id then
    return { 'existing', existing_id }
  end
  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[3])
end
set_fields(KEYS[1], 7)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local rank = redis.call('INCR', KEYS[5])
append_event(KEYS[4], ARGV[4], 'task.updated', ARGV[5], ARGV[6], hash_json(KEYS[1]))
return { 'created', rank }
`;

/**
 * KEYS: task, stream
 * ARGV: allowed current statuses as JSON texts joined by '|', stream max len, topic, at, then field/json pairs
 * Returns { 'ok', task json } or { 'conflict', current status json } or { 'missing' }.
 */
export const TRANSITION_TASK = `${HELPERS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return { 'missing' }
end
local allowed = false
for candidate in string.gmatch(ARGV[1], '[^|]+') do
  if candidate == status then allowed = true end
end
if not allowed then
  return { 'conflict', status }
end
set_fields(KEYS[1], 5)
local json = hash_json(KEYS[1])
append_event(KEYS[2], ARGV[2], 'task.updated', ARGV[3], ARGV[4], json)
return { 'ok', json }
`;

/**
 * KEYS: logs, stream
 * ARGV: task id, log stream, chunk, at, stream max len, topic
 * Returns the chunk's sequence number (1, 2, ...).
 */
export const APPEND_LOG = `${HELPERS}
local seq = redis.call('RPUSH', KEYS[1], cjson.encode({ stream = ARGV[2], chunk = ARGV[3], at = ARGV[4] }))
append_event(KEYS[2], ARGV[5], 'task.log', ARGV[6], ARGV[4],
  cjson.encode({ taskId = ARGV[1], seq = seq, stream = ARGV[2], chunk = ARGV[3], at = ARGV[4] }))
return seq
`;
