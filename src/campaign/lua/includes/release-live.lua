-- Frees the issue+list claim, if this campaign holds it.
local function releaseLive(liveKey, id)
  if redis.call('GET', liveKey) == id then redis.call('DEL', liveKey) end
end
