--[[
  A batch finished: every recipient in it has a final ledger entry. May complete the
  campaign.

  KEYS[1] meta  KEYS[2] batches done  KEYS[3] parked batches  KEYS[4] live claim
  ARGV[1] id  ARGV[2] batch number  ARGV[3] now (ms)
  Returns the campaign's state afterwards.
]]
--- @include "includes/check-done"
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return checkDone(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tonumber(ARGV[3]))
