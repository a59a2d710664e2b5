--[[
  A preparation that failed (lint errors, a missing edition): the campaign vanishes and
  the issue+list claim is free again.

  KEYS[1] meta  KEYS[2] live claim
  ARGV[1] id
]]
--- @include "includes/release-live"
if redis.call('HGET', KEYS[1], 'state') == 'preparing' then redis.call('DEL', KEYS[1]) end
releaseLive(KEYS[2], ARGV[1])
return 'ok'
