/**
 * The Lua scripts of the Redis limiter: each check-and-count is one script, so replicas admitting
 * the same key at once cannot both take its last request. The bucket arithmetic mirrors bucket.ts
 * (units of item × 60,000 draining at `limit` per ms; integers). Time is Redis's own (TIME), so
 * replicas with skewed clocks agree. A key's state is three Redis keys sharing a hash tag:
 *   <prefix>{name}:req  hash {u, at}: the rpm bucket, expiring once drained;
 *   <prefix>{name}:tok  hash {u, at}: the tpm bucket, likewise;
 *   <prefix>{name}:conc sorted set: ticket id -> lease expiry (ms); a replica renews its tickets'
 *                       leases while they run, so a replica that dies frees its slots within a lease.
 * Limits are passed as ARGV, -1 for "not limited".
 */
import { MAX_TOKEN_DEBT_MINUTES } from "./bucket.js";

const COMMON = `
if redis.replicate_commands then redis.replicate_commands() end
local W = 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function units(key, limit)
  local v = redis.call('HMGET', key, 'u', 'at')
  local u = tonumber(v[1]) or 0
  local elapsed = now - (tonumber(v[2]) or now)
  if elapsed < 0 then elapsed = 0 end
  u = u - elapsed * limit
  if u < 0 then u = 0 end
  return u
end
local function store(key, u, limit)
  redis.call('HSET', key, 'u', string.format('%d', u), 'at', string.format('%d', now))
  redis.call('PEXPIRE', key, math.ceil(u / limit) + 1000)
end
`;

/**
 * KEYS: req, tok, conc. ARGV: rpm, tpm, max_concurrent, ticket id, lease ms.
 * Returns {admitted 0|1, request units, token units, in flight}: after the admission when admitted, else before.
 */
export const ADMIT_LUA = `${COMMON}
local rpm, tpm, maxc, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
local ok, ru, tu, n = 1, 0, 0, 0
if rpm >= 0 then
  ru = units(KEYS[1], rpm)
  if ru + W > rpm * W then ok = 0 end
end
if tpm >= 0 then
  tu = units(KEYS[2], tpm)
  if tu + W > tpm * W then ok = 0 end
end
if maxc >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now))
  n = redis.call('ZCARD', KEYS[3])
  if n >= maxc then ok = 0 end
end
if ok == 1 then
  if rpm >= 0 then
    ru = ru + W
    store(KEYS[1], ru, rpm)
  end
  if maxc >= 0 then
    redis.call('ZADD', KEYS[3], string.format('%d', now + lease), ARGV[4])
    redis.call('PEXPIRE', KEYS[3], lease)
    n = n + 1
  end
end
return {ok, ru, tu, n}
`;

/** KEYS: tok, conc. ARGV: tpm (-1: none), tokens (already capped), ticket id ('' : none). Frees the slot, counts the tokens. */
export const END_LUA = `${COMMON}
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[2], ARGV[3]) end
local tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2])
if tpm > 0 and tokens > 0 then
  local u = units(KEYS[1], tpm) + tokens * W
  local cap = (${MAX_TOKEN_DEBT_MINUTES} * tpm - 1) * W
  if u > cap then u = cap end
  store(KEYS[1], u, tpm)
end
return 1
`;

/** KEYS: conc. ARGV: lease ms, ticket ids... Renews the leases of the tickets still held (XX: never re-adds one ended). */
export const RENEW_LUA = `${COMMON}
local expiry = string.format('%d', now + tonumber(ARGV[1]))
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`;
