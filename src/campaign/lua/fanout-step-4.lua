--[[
  Saves fan-out progress after batch jobs were added, only if nobody saved it first.
  The end of the list marks the fan-out done, which can complete the campaign.

  KEYS[1] meta  KEYS[2] batches done  KEYS[3] parked batches  KEYS[4] live claim
  ARGV[1] id  ARGV[2] expected number of the first batch added  ARGV[3] next cursor ('' at the end)
  ARGV[4] ids added  ARGV[5] '1' at the end  ARGV[6] now (ms)  ARGV[7] batches added
  Returns 'stale', 'cancelled', 'ok', or the state after the end of the list.
]]
--- @include "includes/check-done"
if tonumber(redis.call('HGET', KEYS[1], 'batches') or '0') ~= tonumber(ARGV[2]) then return 'stale' end
if redis.call('HGET', KEYS[1], 'state') == 'cancelled' then return 'cancelled' end
redis.call('HINCRBY', KEYS[1], 'batches', tonumber(ARGV[7]))
redis.call('HINCRBY', KEYS[1], 'total', tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'cursor', ARGV[3])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'fanoutDone', '1')
  return checkDone(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tonumber(ARGV[6]))
end
return 'ok'
