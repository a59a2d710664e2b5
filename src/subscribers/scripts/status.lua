-- One subscriber's status or language changes (states.ts says who may make which change).
-- KEYS: 1 subscriber hash, 2 its consent log, 3 list counts,
--       4 (optional) a once-key: the change applies at most once under it (spooled unsubscribes)
-- ARGV: 1 now (ms), 2 new status ('' keeps it), 3 new language ('' keeps it),
--       4 statuses the change may start from (comma-separated, '' any),
--       5 consent-log entry, written when something changed ('' none),
--       6 '1' drops a pending request (its link dies), 7 lifetime of the once-key (s),
--       then field/value pairs to set along with the change
-- Returns -1 unknown subscriber, -2 refused (its status is not one the change starts from),
-- -3 applied before under the once-key, 0 nothing changed, 1 status changed, 2 only the language.
-- @include counts
-- @include requests
local sk, logkey, counts, once = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cur = redis.call('HMGET', sk, 'status', 'lang')
if not cur[1] then return -1 end
if once and redis.call('EXISTS', once) == 1 then return -3 end
local result
if ARGV[4] ~= '' and not string.find(',' .. ARGV[4] .. ',', ',' .. cur[1] .. ',', 1, true) then
  result = -2
else
  local newStatus = (ARGV[2] ~= '' and ARGV[2]) or cur[1]
  local newLang = (ARGV[3] ~= '' and ARGV[3]) or cur[2]
  if ARGV[6] == '1' then drop_request(sk) end
  if newStatus == cur[1] and newLang == cur[2] then
    result = 0
  else
    move_counts(counts, sk, cur[1], cur[2], newStatus, newLang)
    local f = { 'status', newStatus, 'lang', newLang, 'updated', ARGV[1] }
    for i = 8, #ARGV, 2 do
      f[#f + 1] = ARGV[i]
      f[#f + 1] = ARGV[i + 1]
    end
    redis.call('HSET', sk, unpack(f))
    if ARGV[5] ~= '' then redis.call('RPUSH', logkey, ARGV[5]) end
    if newStatus ~= cur[1] then result = 1 else result = 2 end
  end
end
if once then redis.call('SET', once, '1', 'EX', ARGV[7]) end
return result
