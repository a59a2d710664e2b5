-- Moves member counts from one hash per list (`list:<name>:counts`, the layout before
-- subscriber ids were random) into the one counts hash, once per installation.
-- KEYS: 1 layout version, 2 list counts, 3.. each list's old counts hash, in the order of ARGV
-- ARGV: 1 the layout version this brings, then the list names
-- Returns 1 when it moved them, 0 when that was done before.
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return 0 end
for i = 2, #ARGV do
  local old = KEYS[i + 1]
  local h = redis.call('HGETALL', old)
  for j = 1, #h, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i] .. ':' .. h[j], h[j + 1]) end
  redis.call('DEL', old)
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
