--[[
  Saves fan-out progress after a batch job was added, only if nobody saved it first.
  The last page marks the fan-out done, which can complete the campaign.

  KEYS[1] meta  KEYS[2] batches done  KEYS[3] parked batches  KEYS[4] live claim
  ARGV[1] id  ARGV[2] expected batch number  ARGV[3] next cursor ('' at the end)
  ARGV[4] ids in the page  ARGV[5] '1' at the end  ARGV[6] now (ms)
  Returns 'stale', 'ok', or the state after the end of the list.
]]
--- @include "includes/check-done"
if tonumber(redis.call('HGET', KEYS[1], 'batches') or '0') ~= tonumber(ARGV[2]) then return 'stale' end
local n = tonumber(ARGV[4])
if n > 0 then
  redis.call('HINCRBY', KEYS[1], 'batches', 1)
  redis.call('HINCRBY', KEYS[1], 'total', n)
end
redis.call('HSET', KEYS[1], 'cursor', ARGV[3])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'fanoutDone', '1')
  return checkDone(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tonumber(ARGV[6]))
end
return 'ok'
