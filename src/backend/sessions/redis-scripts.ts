import { createHash } from "node:crypto";

/** A Lua script with its SHA-1, so calls can use EVALSHA and fall back to EVAL once. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

/** A script with its SHA-1 computed once. */
export const luaScript = (source: string): LuaScript => ({ source, sha: createHash("sha1").update(source).digest("hex") });
const script = luaScript;

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

/**
 * KEYS: session. ARGV: now, idle, abs, slack, pidle, data, signed in ("1" | "0" | "" for unchanged),
 * compare ("1": only if the stored data is exactly ARGV[9]), expected data. Returns 1 if saved, 0 if not.
 */
export const SAVE = script(`${PROLOGUE}
local state, d, c, left, flag = load(KEYS[1])
if state ~= 'active' then return 0 end
if ARGV[8] == '1' and d ~= ARGV[9] then return 0 end
if ARGV[7] ~= '' then flag = ARGV[7] end
redis.call('HSET', KEYS[1], 'd', ARGV[6], 's', ARGV[1])
if flag then redis.call('HSET', KEYS[1], 'a', flag) end
backstop(KEYS[1], flag, left)
return 1
`);

// Rotation and deletion touch two keys (the old id's and the new id's), which Redis Cluster puts in
// different slots. So each step is its own one-key script: claim the old key (atomic: one winner), then
// place the session under the new key; undo the claim if the new key is taken. Deletion drops the key,
// then the marker it links to. See DEPLOYMENT.md, "Redis Cluster".

/**
 * KEYS: old. ARGV: now, idle, abs, slack, pidle, grace end, grace ttl. Turns an active session into its
 * rotation marker (or removes it, without grace). Returns nil, or [data, createdAt, flag, link] for the one winner.
 */
export const ROTATE_CLAIM = script(`${PROLOGUE}
local state, d, c, left, flag = load(KEYS[1])
if state ~= 'active' then return false end
local link = redis.call('HGET', KEYS[1], 'l')
redis.call('DEL', KEYS[1])
if tonumber(ARGV[6]) > now then
  redis.call('HSET', KEYS[1], 'r', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
end
return {d, c, flag or '', link or ''}
`);

// The tail of ROTATE_PLACE and ROTATE_UNDO: writes a claimed session (ARGV[6..9]) under KEYS[1] with its backstop.
const WRITE_CLAIMED = `redis.call('HSET', KEYS[1], 'd', ARGV[6], 'c', ARGV[7], 's', ARGV[1])
local flag = nil
if ARGV[8] ~= '' then
  flag = ARGV[8]
  redis.call('HSET', KEYS[1], 'a', flag)
end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'l', ARGV[9]) end
backstop(KEYS[1], flag, tonumber(ARGV[7]) + abs - now)
return 1
`;

/**
 * KEYS: new. ARGV: now, idle, abs, slack, pidle, data, createdAt, flag ("" unknown), link ("" none).
 * Places a claimed session under a key nobody holds. Returns 1, or 0 if the key is taken.
 */
export const ROTATE_PLACE = script(`${PROLOGUE}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
${WRITE_CLAIMED}`);

/** KEYS: old. ARGV as ROTATE_PLACE. Puts a claimed session back under its old key (the new one was taken). */
export const ROTATE_UNDO = script(`${PROLOGUE}
if redis.call('HEXISTS', KEYS[1], 'd') == 1 then return 0 end
redis.call('DEL', KEYS[1])
${WRITE_CLAIMED}`);

/** KEYS: session. Deletes it; returns the key of the marker its previous id left (or nil), for DELETE_MARKER. */
export const DELETE = script(`
local link = redis.call('HGET', KEYS[1], 'l')
redis.call('DEL', KEYS[1])
return link or false
`);

/** KEYS: marker. Deletes it if it still is a rotation marker (never a session that reused the key). */
export const DELETE_MARKER = script(`
if redis.call('HEXISTS', KEYS[1], 'r') == 1 then redis.call('DEL', KEYS[1]) end
return 1
`);

// Coordination holds: one key each, the owner's token as the value, PX as the expiry (Redis's own clock:
// a hold is a duration, and an instance that dies holding one loses it by itself).

/** KEYS: hold. ARGV: token, ttl ms. Returns 1 if taken, 0 if held. */
export const HOLD_ACQUIRE = script(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
`);

/** KEYS: hold. ARGV: token, ttl ms. Returns 1 if extended, 0 if the hold is gone or someone else's. */
export const HOLD_RENEW = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);

/** KEYS: hold. ARGV: token. Releases the hold if the token still owns it. */
export const HOLD_RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);

/** KEYS: hold. Ends the hold whoever owns it. */
export const HOLD_REVOKE = script(`
redis.call('DEL', KEYS[1])
return 1
`);
