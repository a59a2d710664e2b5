--- @include "includes/release-live"
-- A sending campaign is done once its list is walked, every batch finished and none is
-- parked. Run by every transition that can complete one: the last batch, the end of the
-- fan-out, and resume (a pause can land between the last claim and the last batch).
local function checkDone(metaKey, doneKey, parkedKey, liveKey, id, now)
  local f = redis.call('HMGET', metaKey, 'state', 'fanoutDone', 'batches')
  if f[1] == 'sending' and f[2] == '1'
    and redis.call('SCARD', doneKey) >= tonumber(f[3] or '0')
    and redis.call('HLEN', parkedKey) == 0 then
    redis.call('HSET', metaKey, 'state', 'done', 'finishedAt', now)
    releaseLive(liveKey, id)
    return 'done'
  end
  return f[1] or 'missing'
end
