import { LUA_HASH_JSON } from '#libs/redis';
import { LUA_APPEND_EVENT } from '#libs/event-stream';

/**
 * Lua scripts of the task tier. Each changes a task, appends its event to the org's
 * event stream (through the one append snippet of `#libs/event-stream`) and records the
 * hand-off that must follow in the org's task outbox, in one atomic step: a process that
 * dies right after a script leaves nothing the reconciler cannot finish. Every key they
 * touch carries the org's hash tag, so a script stays on one Redis Cluster slot.
 *
 * A task is a hash whose values are JSON texts; scripts never decode them (Lua's cjson
 * would turn empty arrays into objects), they only join them into the event's JSON.
 * Event types and topics come in as arguments from `#libs/contracts`.
 */

const HELPERS = `${LUA_HASH_JSON}${LUA_APPEND_EVENT}
local function set_fields(key, first)
  if first <= #ARGV then
    redis.call('HSET', key, unpack(ARGV, first))
  end
end
`;

/**
 * KEYS: task, index, idempotency, stream, backlog, enqueue outbox
 * ARGV: task id, created-at ms, idempotency ttl s (0: none), stream max len, event type, topic, at, then field/json pairs
 * Returns { 'existing', task id } or { 'created', backlog rank }. A created task is also
 * in the enqueue outbox until its run job exists. The new hash holds exactly the pairs
 * given, in their order, so its event is joined from them as `hash_json` would join the
 * hash, without reading it back.
 */
export const CREATE_TASK = `${HELPERS}
if ARGV[3] ~= '0' then
  local existing_id = redis.call('GET', KEYS[3])
  if existing_id then
    return { 'existing', existing_id }
  end
  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[3])
end
set_fields(KEYS[1], 8)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1])
local rank = redis.call('INCR', KEYS[5])
local parts = {}
for i = 8, #ARGV, 2 do
  parts[#parts + 1] = cjson.encode(ARGV[i]) .. ':' .. ARGV[i + 1]
end
append_event(KEYS[4], ARGV[4], ARGV[5], ARGV[6], ARGV[7], '{' .. table.concat(parts, ',') .. '}')
return { 'created', rank }
`;

/**
 * KEYS: task, stream, backlog, enqueue outbox, persist outbox, remove outbox
 * ARGV: 1 allowed current statuses as JSON texts joined by '|'; 2 required attempt as JSON
 * text ('' for any); 3 '1' to take the task out of the org's backlog count; 4 hand-offs:
 * letters 'p' (persist), 'r' (remove the run job), 'e' (the run job exists: drop the
 * enqueue entry); 5 now ms; 6 stream max len; 7 event type; 8 topic; 9 at; 10 task id;
 * 11 channel told (with 12, the org id) of new persist work; then field/json pairs.
 * Returns { 'ok', task json } or { 'conflict', current status json } or { 'missing' }.
 *
 * The persist channel is told only when no other entry of the persist outbox is due:
 * a due entry means a history writer was told already and has not taken it yet, and a
 * writer's drain takes every due entry before it stops, so this one goes with it. A
 * busy worker so sends one message per drained batch, not one per finished task. Entries
 * that are not due (taken by a writer, or waiting for a retry) tell nobody; their taker,
 * the retry or the reconciler's periodic drain covers them.
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
if not allowed or (ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[2]) then
  return { 'conflict', status }
end
set_fields(KEYS[1], 13)
if ARGV[3] == '1' and redis.call('DECR', KEYS[3]) < 0 then
  redis.call('SET', KEYS[3], 0)
end
local handoffs = ARGV[4]
if string.find(handoffs, 'e', 1, true) then redis.call('ZREM', KEYS[4], ARGV[10]) end
if string.find(handoffs, 'r', 1, true) then redis.call('ZADD', KEYS[6], ARGV[5], ARGV[10]) end
local tell_writers = false
if string.find(handoffs, 'p', 1, true) then
  tell_writers = redis.call('ZCOUNT', KEYS[5], '-inf', ARGV[5]) == 0
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[10])
end
local json = hash_json(KEYS[1])
append_event(KEYS[2], ARGV[6], ARGV[7], ARGV[8], ARGV[9], json)
if tell_writers then
  redis.call('PUBLISH', ARGV[11], ARGV[12])
end
return { 'ok', json }
`;

/**
 * A worker's usual step, QUEUED → CLAIMED → PROCESSING in one script: both transitions
 * and both events, as `TRANSITION_TASK` twice would make them, in one round trip. The
 * attempt opened is `{ attempt, workerId, startedAt }`, appended to the task's attempts
 * (all closed while it is QUEUED); the task's own `startedAt` is set on its first attempt.
 * KEYS: task, stream, backlog, enqueue outbox
 * ARGV: worker id JSON text, attempt started-at JSON text, stream max len, event type, topic, at, task id
 * Returns { 'ok', task json } or { 'conflict', current status json } or { 'missing' }.
 */
export const CLAIM_AND_START_TASK = `${HELPERS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return { 'missing' }
end
if status ~= '"QUEUED"' then
  return { 'conflict', status }
end
local attempts = redis.call('HGET', KEYS[1], 'attempts')
if attempts == '[]' and redis.call('DECR', KEYS[3]) < 0 then
  redis.call('SET', KEYS[3], 0)
end
redis.call('HSET', KEYS[1], 'status', '"CLAIMED"', 'workerId', ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[7])
append_event(KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], hash_json(KEYS[1]))
local current = '{"attempt":' .. redis.call('HGET', KEYS[1], 'attempt') .. ',"workerId":' .. ARGV[1] .. ',"startedAt":' .. ARGV[2] .. '}'
local opened
if attempts == '[]' then
  opened = '[' .. current .. ']'
else
  opened = string.sub(attempts, 1, -2) .. ',' .. current .. ']'
end
local started = redis.call('HGET', KEYS[1], 'startedAt')
if not started or started == 'null' then
  redis.call('HSET', KEYS[1], 'status', '"PROCESSING"', 'attempts', opened, 'startedAt', ARGV[2])
else
  redis.call('HSET', KEYS[1], 'status', '"PROCESSING"', 'attempts', opened)
end
local json = hash_json(KEYS[1])
append_event(KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], json)
return { 'ok', json }
`;

/**
 * KEYS: logs, stream
 * ARGV: task id, log stream, chunk, at, stream max len, event type, topic
 * Returns the chunk's sequence number (1, 2, ...).
 */
export const APPEND_LOG = `${HELPERS}
local seq = redis.call('RPUSH', KEYS[1], cjson.encode({ stream = ARGV[2], chunk = ARGV[3], at = ARGV[4] }))
append_event(KEYS[2], ARGV[5], ARGV[6], ARGV[7], ARGV[4],
  cjson.encode({ taskId = ARGV[1], seq = seq, stream = ARGV[2], chunk = ARGV[3], at = ARGV[4] }))
return seq
`;

/**
 * Takes up to ARGV[3] entries of an outbox that are due (score <= ARGV[1]) and hides them
 * from other takers until ARGV[2] (ms): if the taker dies, they come due again then.
 * KEYS: outbox. Returns the task ids.
 */
export const TAKE_DUE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
end
return ids
`;

/**
 * The tasks are in Postgres: out of the persist outbox and the org's live index (lists
 * read them from the history from now on), and their live keys expire.
 * KEYS: persist outbox, live index, then task and logs key of each task. ARGV: ttl s, then the task ids.
 */
export const PERSISTED = `
for i = 2, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('EXPIRE', KEYS[i * 2 - 1], ARGV[1])
  redis.call('EXPIRE', KEYS[i * 2], ARGV[1])
end
return #ARGV - 1
`;
