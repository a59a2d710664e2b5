--[[
  The fan-out begins: scheduled → sending, and the send clock starts. A paused campaign
  stays paused (its batches will park), but notes that the fan-out has begun, so resume
  knows to go to sending rather than back to scheduled.

  KEYS[1] meta
  ARGV[1] now (ms)
  Returns the state found or made, or 'missing'.
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if not redis.call('HGET', KEYS[1], 'begunAt') then redis.call('HSET', KEYS[1], 'begunAt', ARGV[1]) end
if state == 'scheduled' then
  redis.call('HSET', KEYS[1], 'state', 'sending')
  if not redis.call('HGET', KEYS[1], 'startedAt') then redis.call('HSET', KEYS[1], 'startedAt', ARGV[1]) end
  return 'sending'
end
return state
