-- The reader followed the link of a request and pressed the button: apply what the request
-- asked (active, the lists it named, its language) and write the consent record. The link's
-- nonce must be the request's own; once used, superseded or expired, the link is dead.
-- KEYS: 1 subscriber hash, 2 its consent log, 3 list counts, 4 list names, 5 join sequence,
--       6.. the members of each requested list, in the order of ARGV[6]
-- ARGV: 1 now (ms), 2 now (ISO), 3 id, 4 nonce ('' for a link mailed before requests had
--       nonces), 5 client IP, 6 the requested lists as read before (comma-separated)
-- Returns { 'ok', status before, language after, lists joined… }, or { 'gone' } (used,
-- superseded or never valid), { 'expired' }, { 'missing' }, { 'retry' } (changed since read).
-- @include counts
-- @include requests
local sk, logkey, counts, lists, joinseq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, nonce = ARGV[1], ARGV[4]
local f = redis.call('HMGET', sk, 'status', 'lang', 'rq:n', 'rq:exp', 'rq:l', 'rq:lang', 'rq:at',
  'rq:atms', 'rq:ip', 'rq:url', 'rq:wv', 'rq:wh', 'rq:mid', 'rq:src', 'unsubAt', 'src')
local status, lang = f[1], f[2]
if not status then return { 'missing' } end
if status == 'complained' then return { 'gone' } end

local function put(t, k, v)
  if v and v ~= '' then t[k] = v end
end
local record = { at = ARGV[2], event = 'confirmed', ip = ARGV[5], previousStatus = status }
local requested = ''
local newLang = lang
if nonce == '' then
  -- A link from before requests had nonces confirms only the sign-up it was mailed for: one
  -- still pending, with no newer request and no unsubscribe since.
  if status ~= 'pending' or f[3] or f[15] then return { 'gone' } end
  record.legacyLink = true
  put(record, 'source', f[16])
else
  if f[3] ~= nonce then return { 'gone' } end
  if tonumber(f[4]) < tonumber(now) then return { 'expired' } end
  requested = f[5] or ''
  if requested ~= ARGV[6] then return { 'retry' } end
  if f[6] and f[6] ~= '' then newLang = f[6] end
  local request = {}
  put(request, 'at', f[7])
  put(request, 'ip', f[9])
  put(request, 'formUrl', f[10])
  put(request, 'source', f[14])
  record.request = request
  local wording = {}
  put(wording, 'version', f[11])
  put(wording, 'hash', f[12])
  record.wording = wording
  put(record, 'messageId', f[13])
  record.lang = newLang
end

move_counts(counts, sk, status, lang, 'active', newLang)
local asked, joined = {}, {}
local i = 0
for list in string.gmatch(requested, '[^,]+') do
  i = i + 1
  asked[#asked + 1] = list
  if redis.call('HEXISTS', sk, 'l:' .. list) == 0 then
    local seq = redis.call('INCR', joinseq)
    redis.call('HSET', sk, 'l:' .. list, seq)
    redis.call('ZADD', KEYS[5 + i], seq, ARGV[3])
    redis.call('HINCRBY', counts, list .. ':active:' .. newLang, 1)
    redis.call('SADD', lists, list)
    joined[#joined + 1] = list
  end
  redis.call('HDEL', sk, 'left:' .. list)
end
if #asked > 0 then record.lists = asked end

local set = { 'status', 'active', 'lang', newLang, 'updated', now, 'confAt', now, 'confIp', ARGV[5], 'reason', '' }
if nonce ~= '' then
  -- The record's consent fields describe the consent now in force: this request's.
  for _, pair in ipairs({ { 'signupAt', f[8] }, { 'signupIp', f[9] }, { 'src', f[14] }, { 'formUrl', f[10] }, { 'wv', f[11] }, { 'wh', f[12] }, { 'confMid', f[13] } }) do
    if pair[2] and pair[2] ~= '' then
      set[#set + 1] = pair[1]
      set[#set + 1] = pair[2]
    end
  end
end
redis.call('HSET', sk, unpack(set))
redis.call('HDEL', sk, 'unsubAt', 'unsubVia')
drop_request(sk)
redis.call('RPUSH', logkey, cjson.encode(record))
local out = { 'ok', status, newLang }
for _, list in ipairs(joined) do out[#out + 1] = list end
return out
