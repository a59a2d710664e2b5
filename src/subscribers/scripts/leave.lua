-- One subscriber leaves one list. The list is remembered as left (`left:<list>`), so no
-- import puts them back on it; only their own confirmed request does.
-- KEYS: 1 subscriber hash, 2 its consent log, 3 list counts, 4 the list's members,
--       5 (optional) a once-key: applies at most once under it (spooled unsubscribes)
-- ARGV: 1 now (ms), 2 id, 3 list, 4 consent-log entry for leaving,
--       5 '1' when leaving the last list unsubscribes (the reader left, not ops),
--       6 consent-log entry for that unsubscribe, 7 how (via), 8 lifetime of the once-key (s)
-- Returns { 1 | 0 was a member, status after }, { -1 } unknown subscriber, { -3 } applied before.
-- @include counts
-- @include requests
local sk, logkey, counts, members, once = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local list = ARGV[3]
local cur = redis.call('HMGET', sk, 'status', 'lang', 'l:' .. list)
if not cur[1] then return { -1 } end
if once and redis.call('EXISTS', once) == 1 then return { -3 } end
local was = 0
if cur[3] then
  redis.call('ZREM', members, ARGV[2])
  redis.call('HDEL', sk, 'l:' .. list)
  redis.call('HINCRBY', counts, list .. ':' .. cur[1] .. ':' .. cur[2], -1)
  redis.call('RPUSH', logkey, ARGV[4])
  was = 1
end
redis.call('HSET', sk, 'left:' .. list, ARGV[1], 'updated', ARGV[1])
local status = cur[1]
if ARGV[5] == '1' and (status == 'active' or status == 'pending') and #lists_of(sk) == 0 then
  -- On no list any more: nothing is left to send them, and a send already under way must
  -- skip them too (it reads the status, not the list).
  status = 'unsubscribed'
  redis.call('HSET', sk, 'status', status, 'unsubAt', ARGV[1], 'unsubVia', ARGV[7], 'reason', ARGV[7])
  drop_request(sk)
  redis.call('RPUSH', logkey, ARGV[6])
end
if once then redis.call('SET', once, '1', 'EX', ARGV[8]) end
return { was, status }
