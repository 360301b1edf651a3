"""The Lua scripts of ``RedisRateBudget``: each runs atomically, on the Redis server's clock.

KEYS[1] is a sorted set of start times in microseconds of Redis ``TIME`` (past starts,
future reservations and starts learned from the API, each a unique member); KEYS[2] a hash
with ``blocked`` (no start before this time), ``limit`` (a lower limit the API announced)
and ``seq`` (makes members unique). Both expire (PEXPIRE) once nothing in them can matter.
Numbers go to Redis through ``string.format('%d')``: a Lua number printed plainly loses
digits of a microsecond timestamp.
"""

from __future__ import annotations

_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%d', x) end
local function keep_for(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
local function limit_of(own)
  local learned = redis.call('HGET', KEYS[2], 'limit')
  if learned and tonumber(learned) < own then return tonumber(learned) end
  return own
end
local function member()
  return int(now) .. '-' .. redis.call('HINCRBY', KEYS[2], 'seq', 1)
end
"""

# ARGV: limit, bulk_reserve, span_us, max_wait_us, priority
# Returns {1, wait_us, member} for a reservation, {0, wait_us, ''} when it would pass max_wait.
ACQUIRE = (
    _PRELUDE
    + """
local span = tonumber(ARGV[3])
local lim = limit_of(tonumber(ARGV[1]))
local cap = lim
if ARGV[5] == 'bulk' then
  cap = math.max(1, math.floor(lim * (1 - tonumber(ARGV[2])) + 1e-9))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - span))
local start = now
local blocked = redis.call('HGET', KEYS[2], 'blocked')
if blocked and tonumber(blocked) > start then start = tonumber(blocked) end

local flat = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local s = {}
for i = 2, #flat, 2 do s[#s + 1] = tonumber(flat[i]) end
local n = #s
-- The same rule as _common.earliest_start (1-based here).
while true do
  local lo, hi = 1, n + 1
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if s[mid] <= start then lo = mid + 1 else hi = mid end
  end
  local k = lo
  local blocker = nil
  for j = math.max(1, k - cap), k do
    local last = j + cap - 1
    if last > n then break end
    local first_time = start
    if j < k then first_time = s[j] end
    local last_time = start
    if last >= k then last_time = s[last] end
    if last_time - first_time < span then blocker = j break end
  end
  if not blocker then break end
  start = s[blocker] + span
end

local wait = start - now
if wait > tonumber(ARGV[4]) then return {0, int(wait), ''} end
local m = member()
redis.call('ZADD', KEYS[1], int(start), m)
local ttl = math.floor((wait + span) / 1000) + 1000
keep_for(KEYS[1], ttl)
keep_for(KEYS[2], ttl)
return {1, int(wait), m}
"""
)

# ARGV: limit ('' if unknown), remaining ('' if unknown), reset (UNIX us, '' if unknown),
#       own limit, span_us, window_us
OBSERVE = (
    _PRELUDE
    + """
local own = tonumber(ARGV[4])
local span = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
if ARGV[1] ~= '' and tonumber(ARGV[1]) >= 1 then
  if tonumber(ARGV[1]) < own then
    redis.call('HSET', KEYS[2], 'limit', ARGV[1])
  else
    redis.call('HDEL', KEYS[2], 'limit')
  end
end
local lim = limit_of(own)
if ARGV[2] ~= '' and tonumber(ARGV[2]) >= 0 then
  local remaining = tonumber(ARGV[2])
  local server_limit = lim
  if ARGV[1] ~= '' and tonumber(ARGV[1]) >= 1 then server_limit = tonumber(ARGV[1]) end
  local reset = nil
  if ARGV[3] ~= '' and tonumber(ARGV[3]) > now then reset = tonumber(ARGV[3]) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - span))
  local counted = redis.call('ZCOUNT', KEYS[1], '-inf', int(now))
  local missing = math.min(server_limit - remaining - counted, lim)
  if missing > 0 then
    local at = now
    if reset then at = math.min(now, math.max(reset - window, now - window)) end
    for i = 1, missing do
      redis.call('ZADD', KEYS[1], int(at), 'p' .. member())
    end
    keep_for(KEYS[1], math.floor(span / 1000) + 1000)
  end
  if remaining == 0 and reset then
    local blocked = redis.call('HGET', KEYS[2], 'blocked')
    if not blocked or tonumber(blocked) < reset then
      redis.call('HSET', KEYS[2], 'blocked', int(reset))
    end
  end
end
keep_for(KEYS[2], math.floor(span / 1000) + 1000)
return 1
"""
)

# ARGV: retry_after_us
PENALIZE = (
    _PRELUDE
    + """
local till = now + tonumber(ARGV[1])
local blocked = redis.call('HGET', KEYS[2], 'blocked')
if not blocked or tonumber(blocked) < till then
  redis.call('HSET', KEYS[2], 'blocked', int(till))
end
keep_for(KEYS[2], math.floor(tonumber(ARGV[1]) / 1000) + 1000)
return 1
"""
)

# ARGV: member. Frees a reservation whose caller gave up (a cancelled task).
RELEASE = """
return redis.call('ZREM', KEYS[1], ARGV[1])
"""
