-- Milliseconds since the epoch by Redis' clock, the one clock every worker shares.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
