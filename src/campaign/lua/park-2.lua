--[[
  A batch of a campaign that is not sending puts itself aside instead of polling: its
  job data goes into the campaign's parked hash and the job ends. Resume queues every
  parked batch again, once. Checked against the state in the same step, so a resume
  that lands meanwhile is never missed: the batch then goes on instead.

  KEYS[1] meta  KEYS[2] parked batches
  ARGV[1] batch number  ARGV[2] job data (JSON)
  Returns 'parked', or the state that made parking wrong ('sending', 'cancelled', 'missing').
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if state == 'sending' or state == 'cancelled' or state == 'done' then return state end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'parked'
