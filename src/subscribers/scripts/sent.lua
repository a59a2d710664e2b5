-- The confirmation mail of a request went out, or could not be sent at all.
-- KEYS: 1 subscriber hash, 2 its consent log
-- ARGV: 1 nonce, 2 'sent' | 'failed', 3 now (ms), 4 Message-ID, 5 consent-log entry
-- Returns 1 when the request is still the current one, 0 when a newer one superseded it,
-- -1 when the subscriber is gone.
local sk = KEYS[1]
if redis.call('EXISTS', sk) == 0 then return -1 end
local current = redis.call('HGET', sk, 'rq:n') == ARGV[1]
if ARGV[2] == 'sent' then
  -- A mail went out either way, so the log keeps it.
  if current then redis.call('HSET', sk, 'rq:mid', ARGV[4], 'rq:sent', ARGV[3], 'sentAt', ARGV[3]) end
  redis.call('RPUSH', KEYS[2], ARGV[5])
elseif current then
  -- Nothing went out: the next post may send a mail at once.
  redis.call('HDEL', sk, 'mailAt')
  redis.call('RPUSH', KEYS[2], ARGV[5])
end
if current then return 1 end
return 0
