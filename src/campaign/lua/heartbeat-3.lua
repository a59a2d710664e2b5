--[[
  A worker's heartbeat: it and each batch run it has going are alive until now + ttl.
  A claim held by a run whose heartbeat ran out belongs to a dead worker. Entries of
  workers and runs gone for a week are dropped here.

  KEYS[1] workers (HASH id → expiry)  KEYS[2] worker info (HASH id → text)  KEYS[3] runs
  ARGV[1] worker id  ARGV[2] ttl (ms)  ARGV[3] info  ARGV[4..] run ids
]]
--- @include "includes/now"
local now = nowMs()
local expiry = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], expiry)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
for i = 4, #ARGV do redis.call('HSET', KEYS[3], ARGV[i], expiry) end

local week = 7 * 24 * 3600 * 1000
if redis.call('HLEN', KEYS[3]) > 500 then
  local all = redis.call('HGETALL', KEYS[3])
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) < now - week then redis.call('HDEL', KEYS[3], all[i]) end
  end
end
if redis.call('HLEN', KEYS[1]) > 50 then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) < now - week then
      redis.call('HDEL', KEYS[1], all[i])
      redis.call('HDEL', KEYS[2], all[i])
    end
  end
end
return expiry
