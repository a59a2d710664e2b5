--[[
  The ops transitions: pause, cancel, resume, and resend (done → sending again for
  recipients sent to on purpose). campaigns.ts holds the table of which states each may
  start from; this script applies one atomically.

  KEYS[1] meta  KEYS[2] live claim  KEYS[3] batches done  KEYS[4] parked batches
  ARGV[1] id  ARGV[2] action  ARGV[3] states it may start from (comma list)
  ARGV[4] reason ('' clears it)  ARGV[5] now (ms)

  Returns {'ok', new state, epoch}, {'refused', current state}, {'missing'}, or
  {'live', other campaign} when resend finds another campaign of the issue+list live.
]]
--- @include "includes/check-done"
local id, action, reason, now = ARGV[1], ARGV[2], ARGV[4], tonumber(ARGV[5])
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if not string.find(',' .. ARGV[3] .. ',', ',' .. state .. ',', 1, true) then return {'refused', state} end

local target
if action == 'pause' then
  target = 'paused'
elseif action == 'cancel' then
  target = 'cancelled'
  redis.call('HSET', KEYS[1], 'finishedAt', now)
  releaseLive(KEYS[2], id)
elseif action == 'resume' then
  if redis.call('HGET', KEYS[1], 'begunAt') then target = 'sending' else target = 'scheduled' end
  redis.call('HINCRBY', KEYS[1], 'epoch', 1)
  redis.call('HSET', KEYS[1], 'streak:conn', 0, 'streak:policy', 0)
elseif action == 'resend' then
  if state == 'done' then
    local holder = redis.call('GET', KEYS[2])
    if holder and holder ~= id then return {'live', holder} end
    redis.call('SET', KEYS[2], id)
    redis.call('HDEL', KEYS[1], 'finishedAt')
    target = 'sending'
  else
    target = state
  end
else
  return redis.error_reply('unknown campaign action ' .. action)
end

redis.call('HSET', KEYS[1], 'state', target, 'reason', reason)
if target == 'sending' and not redis.call('HGET', KEYS[1], 'startedAt') then
  redis.call('HSET', KEYS[1], 'startedAt', now)
end
if action == 'resume' and target == 'sending' then
  target = checkDone(KEYS[1], KEYS[3], KEYS[4], KEYS[2], id, now)
end
return {'ok', target, redis.call('HGET', KEYS[1], 'epoch') or '0'}
