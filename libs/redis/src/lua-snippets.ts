/**
 * Lua shared by the platform's scripts. `hash_json(key)` joins a hash whose values are
 * JSON texts into one JSON object without decoding them: Lua's cjson would turn empty
 * arrays into objects.
 */
export const LUA_HASH_JSON = `
local function hash_json(key)
  local flat = redis.call('HGETALL', key)
  local parts = {}
  for i = 1, #flat, 2 do
    parts[#parts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1]
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
`;
