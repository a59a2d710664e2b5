--[[
  Claims one recipient before its SMTP transaction. Also checks, in the same step, that
  the campaign is sending with the editions the worker holds, and takes a token from the
  global and the campaign's rate bucket.

  KEYS[1] meta  KEYS[2] ledger  KEYS[3] unclear (SET)  KEYS[4] notes
  KEYS[5] runs (HASH run → heartbeat expiry)  KEYS[6] global bucket  KEYS[7] campaign bucket
  KEYS[8..] ledgers of earlier campaigns of the issue (a send to the rest only)

  ARGV[1] run  ARGV[2] subscriber id  ARGV[3] mode: send | resend
  ARGV[4] global rate  ARGV[5] campaign rate (0: none)  ARGV[6] edition version held

  Returns one of
    {'claimed'}
    {'done', code}        handled already (or just now: 'u' for a dead run's claim, 'p')
    {'busy'}              claimed by a run that is still alive; ask again later
    {'wait', ms}          the rate limit wants a pause first
    {'halt', state}       the campaign is not sending
    {'stale', version}    the editions were replaced; load them and ask again
]]
--- @include "includes/now"
--- @include "includes/ledger-codes"
local meta, ledger, unclear, notes, runs = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local run, id, mode = ARGV[1], ARGV[2], ARGV[3]

local f = redis.call('HMGET', meta, 'state', 'ver')
if f[1] ~= 'sending' then return {'halt', f[1] or 'missing'} end
if (f[2] or '1') ~= ARGV[6] then return {'stale', f[2] or '1'} end

local mine = 'c:' .. run
local cur = redis.call('HGET', ledger, id)
if cur == mine then return {'claimed'} end
local now = nowMs()

if isClaim(cur) then
  -- Another run's claim. While that run's heartbeat lasts it will record the answer
  -- itself; once it has run out, or the run ended without recording, nobody knows
  -- whether the mail arrived: unclear, never sent again on its own.
  local expiry = redis.call('HGET', runs, string.sub(cur, 3))
  if expiry and tonumber(expiry) > now then return {'busy'} end
  local cause = expiry and 'worker died' or 'answer not recorded'
  redis.call('HSET', ledger, id, 'u')
  redis.call('SADD', unclear, id)
  redis.call('HSET', notes, id, cause)
  redis.call('HINCRBY', meta, 'unclear', 1)
  return {'done', 'u'}
end

if mode == 'resend' then
  if cur ~= 'u' then return {'done', cur or 'none'} end
elseif cur then
  return {'done', cur}
elseif #KEYS > 7 then
  -- A send to the rest: whoever an earlier campaign of the issue reached (sent, bounced,
  -- unclear, or claimed and never recorded) is not mailed again.
  for i = 8, #KEYS do
    local earlier = redis.call('HGET', KEYS[i], id)
    if earlier == 's' or earlier == 'b' or earlier == 'u' or isClaim(earlier) then
      redis.call('HSET', ledger, id, 'p')
      redis.call('HINCRBY', meta, 'previously', 1)
      return {'done', 'p'}
    end
  end
end

-- Token buckets: capacity rate/5 (a fifth of a second's burst), refilled continuously.
local wait = 0
local buckets = {}
for i = 1, 2 do
  local rate = tonumber(ARGV[3 + i])
  if rate > 0 then
    local key = KEYS[5 + i]
    local cap = math.max(1, math.ceil(rate / 5))
    local b = redis.call('HMGET', key, 'tokens', 'ts')
    local tokens = tonumber(b[1]) or cap
    local ts = tonumber(b[2]) or now
    if now > ts then tokens = math.min(cap, tokens + (now - ts) * rate / 1000) end
    if tokens < 1 then wait = math.max(wait, math.ceil((1 - tokens) * 1000 / rate)) end
    buckets[#buckets + 1] = {key, tokens}
  end
end
if wait > 0 then return {'wait', tostring(wait)} end
for _, b in ipairs(buckets) do
  redis.call('HSET', b[1], 'tokens', tostring(b[2] - 1), 'ts', tostring(now))
end

if cur == 'u' then
  redis.call('SREM', unclear, id)
  redis.call('HDEL', notes, id)
  redis.call('HINCRBY', meta, 'unclear', -1)
end
redis.call('HSET', ledger, id, mine)
return {'claimed'}
