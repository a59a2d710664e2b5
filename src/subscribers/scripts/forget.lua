-- Erasure on request (GDPR Art. 17): the record, its consent log, its list memberships and
-- its index entry go. What stays is a line in the ops log that an erasure happened, by whom
-- and why, without the address.
-- KEYS: 1 subscriber hash, 2 its consent log, 3 email index, 4 list counts, 5 ops log,
--       6.. the members of each list the subscriber is on, in the order of ARGV[4]
-- ARGV: 1 id, 2 email index field, 3 ops-log entry, 4 their lists as read (sorted, comma-separated)
-- Returns 1 erased, 0 unknown, -4 their lists changed since they were read (read again).
-- @include counts
local sk = KEYS[1]
local cur = redis.call('HMGET', sk, 'status', 'lang')
if not cur[1] then return 0 end
local now = lists_of(sk)
table.sort(now)
if table.concat(now, ',') ~= ARGV[4] then return -4 end
local i = 0
for list in string.gmatch(ARGV[4], '[^,]+') do
  i = i + 1
  redis.call('ZREM', KEYS[5 + i], ARGV[1])
  redis.call('HINCRBY', KEYS[4], list .. ':' .. cur[1] .. ':' .. cur[2], -1)
end
if redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[3], ARGV[2]) end
redis.call('DEL', sk, KEYS[2])
redis.call('RPUSH', KEYS[5], ARGV[3])
return 1
