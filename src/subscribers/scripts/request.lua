-- A request from the public side: a sign-up, or a change asked for a known address (join a
-- list, another language). An unknown address is created as `pending`, on no list yet.
-- Nothing else changes here: the request is stored with its nonce, and only the link in the
-- mail to the address applies it (confirm.lua). A newer request supersedes an older one,
-- except within the resend window, where the mail already sent keeps its link valid and no
-- second mail goes out, however many posts arrive from however many IPs.
-- KEYS: 1 email index, 2 subscriber hash, 3 its consent log
-- ARGV: 1 now (ms), 2 now (ISO), 3 id (new or known), 4 '1' when the id is new, 5 email,
--       6 email index field, 7 name (used for a new address only), 8 language of a new
--       address, 9 requested language ('' none), 10 requested lists (comma-separated),
--       11 nonce, 12 expiry (ms), 13 client IP, 14 form URL, 15 wording version,
--       16 wording hash, 17 resend window (ms), 18 source, 19 consent-log entry
-- Returns { 'mail' } (send the mail), { 'throttled' } (one went out within the window),
-- { 'quiet' } (never mail this address), { 'retry' } (the address changed hands since it
-- was looked up: look again).
-- @include requests
local idx, sk, logkey = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local found = redis.call('HGET', idx, ARGV[6])
if ARGV[4] == '1' then
  if found or redis.call('EXISTS', sk) == 1 then return { 'retry' } end
  local f = { 'email', ARGV[5], 'lang', ARGV[8], 'status', 'pending', 'created', ARGV[1], 'src', ARGV[18], 'signupAt', ARGV[1], 'signupIp', ARGV[13] }
  if ARGV[7] ~= '' then
    f[#f + 1] = 'name'
    f[#f + 1] = ARGV[7]
  end
  redis.call('HSET', sk, unpack(f))
  redis.call('HSET', idx, ARGV[6], ARGV[3])
elseif found ~= ARGV[3] then
  return { 'retry' }
end
local cur = redis.call('HMGET', sk, 'status', 'mailAt')
-- Every path writes, so every answer waits for the same append-only-file flush: a request
-- that changes nothing must not come back faster than one that stores a new address.
redis.call('HSET', sk, 'postAt', ARGV[1])
if cur[1] == 'complained' then return { 'quiet' } end
if cur[2] and now - tonumber(cur[2]) < tonumber(ARGV[17]) then return { 'throttled' } end
drop_request(sk)
redis.call('HSET', sk, 'mailAt', ARGV[1],
  'rq:n', ARGV[11], 'rq:at', ARGV[2], 'rq:atms', ARGV[1], 'rq:exp', ARGV[12], 'rq:ip', ARGV[13],
  'rq:url', ARGV[14], 'rq:l', ARGV[10], 'rq:lang', ARGV[9], 'rq:wv', ARGV[15], 'rq:wh', ARGV[16],
  'rq:src', ARGV[18])
redis.call('RPUSH', logkey, ARGV[19])
return { 'mail' }
