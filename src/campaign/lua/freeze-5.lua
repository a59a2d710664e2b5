--[[
  preparing → scheduled: stores the editions that were compiled and linted, makes the
  campaign and its issue+list claim permanent, and lists it.

  KEYS[1] meta  KEYS[2] editions  KEYS[3] live claim  KEYS[4] campaign index  KEYS[5] issue history
  ARGV[1] id  ARGV[2] createdAt  ARGV[3] langs (comma list)  ARGV[4..] lang, edition JSON pairs

  Returns 'ok', or 'lost' when the preparation outlived its ttl and the claim is gone.
]]
local id = ARGV[1]
if redis.call('HGET', KEYS[1], 'state') ~= 'preparing' or redis.call('GET', KEYS[3]) ~= id then
  return 'lost'
end
redis.call('DEL', KEYS[2])
local pairs_ = {}
for i = 4, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
if #pairs_ > 0 then redis.call('HSET', KEYS[2], unpack(pairs_)) end
redis.call('HSET', KEYS[1], 'state', 'scheduled', 'langs', ARGV[3], 'ver', 1)
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[3])
redis.call('ZADD', KEYS[4], ARGV[2], id)
redis.call('SADD', KEYS[5], id)
return 'ok'
