--[[
  Replaces the frozen editions of a paused or scheduled campaign and bumps their version,
  so a worker that still holds the old ones learns it at its next claim.

  KEYS[1] meta  KEYS[2] editions
  ARGV[1] states it may happen in (comma list)  ARGV[2] langs (comma list)
  ARGV[3..] lang, edition JSON pairs
  Returns {'ok', new version}, {'refused', state} or {'missing'}.
]]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if not string.find(',' .. ARGV[1] .. ',', ',' .. state .. ',', 1, true) then return {'refused', state} end
redis.call('DEL', KEYS[2])
local pairs_ = {}
for i = 3, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
if #pairs_ > 0 then redis.call('HSET', KEYS[2], unpack(pairs_)) end
redis.call('HSET', KEYS[1], 'langs', ARGV[2])
return {'ok', tostring(redis.call('HINCRBY', KEYS[1], 'ver', 1))}
