import { createHash } from "node:crypto";

/** A Lua script with its SHA-1, so calls can use EVALSHA and fall back to EVAL once. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

const script = (source: string): LuaScript => ({ source, sha: createHash("sha1").update(source).digest("hex") });

// Shared prologue. Hash fields: d = sealed data, c = createdAt, s = last seen, a = signed in ("1")
// or not ("0"; absent on records written before the flag existed: read as signed in, as they were
// then), l = key of the marker the previous id left, r = (markers only) end of the grace period.
// ARGV[1..5] = now, idle ms, absolute ms, backstop slack ms, pending idle ms (≤ idle). Times are
// decided here on the caller's clock; PEXPIRE is only a backstop so abandoned keys leave Redis by themselves.
const PROLOGUE = `
local now, idle, abs, slack, pidle = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function idleFor(flag)
  if flag == '0' then return pidle end
  return idle
end
local function load(key)
  local v = redis.call('HMGET', key, 'd', 'c', 's', 'r', 'a')
  if v[4] then
    if now < tonumber(v[4]) then return 'rotated' end
    redis.call('DEL', key)
    return 'missing'
  end
  if not v[1] then return 'missing' end
  local left = tonumber(v[2]) + abs - now
  if now - tonumber(v[3]) >= idleFor(v[5]) or left <= 0 then
    redis.call('DEL', key)
    return 'missing'
  end
  return 'active', v[1], v[2], left, v[5]
end
local function backstop(key, flag, left)
  redis.call('PEXPIRE', key, math.floor(math.min(idleFor(flag), left) + slack))
end
`;

/** KEYS: session. ARGV: now, idle, abs, slack, pidle. Returns nil | "rotated" | [data, createdAt]. */
export const GET = script(`${PROLOGUE}
local state, d, c, left, flag = load(KEYS[1])
if state == 'rotated' then return 'rotated' end
if state ~= 'active' then return false end
redis.call('HSET', KEYS[1], 's', ARGV[1])
backstop(KEYS[1], flag, left)
return {d, c}
`);

/** KEYS: session. ARGV: now, idle, abs, slack, pidle, createdAt, data, signed in ("1" | "0"). */
export const CREATE = script(`${PROLOGUE}
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[7], 'c', ARGV[6], 's', ARGV[1], 'a', ARGV[8])
backstop(KEYS[1], ARGV[8], tonumber(ARGV[6]) + abs - now)
return 1
`);

/** KEYS: session. ARGV: now, idle, abs, slack, pidle, data, signed in ("1" | "0" | "" for unchanged). Returns 1 if saved, 0 if there was nothing to save to. */
export const SAVE = script(`${PROLOGUE}
local state, d, c, left, flag = load(KEYS[1])
if state ~= 'active' then return 0 end
if ARGV[7] ~= '' then flag = ARGV[7] end
redis.call('HSET', KEYS[1], 'd', ARGV[6], 's', ARGV[1])
if flag then redis.call('HSET', KEYS[1], 'a', flag) end
backstop(KEYS[1], flag, left)
return 1
`);

/** KEYS: old, new. ARGV: now, idle, abs, slack, pidle, grace end, grace ttl. Returns 1 for the one winner, else 0. */
export const ROTATE = script(`${PROLOGUE}
if KEYS[1] == KEYS[2] or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local state, d, c, left, flag = load(KEYS[1])
if state ~= 'active' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'd', d, 'c', c, 's', ARGV[1])
if flag then redis.call('HSET', KEYS[2], 'a', flag) end
if tonumber(ARGV[6]) > now then
  redis.call('HSET', KEYS[2], 'l', KEYS[1])
  redis.call('HSET', KEYS[1], 'r', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
end
backstop(KEYS[2], flag, left)
return 1
`);

/** KEYS: session. Deletes it and, if still a marker, the key its previous id left behind. */
export const DELETE = script(`
local link = redis.call('HGET', KEYS[1], 'l')
redis.call('DEL', KEYS[1])
if link and redis.call('HEXISTS', link, 'r') == 1 then redis.call('DEL', link) end
return 1
`);
