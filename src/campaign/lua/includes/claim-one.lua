--- @include "includes/ledger-codes"
-- One recipient's claim (claim.lua): the whole decision for one id, so a script that
-- claims several recipients at once can call it in a loop.
-- k: {meta, ledger, unclear, notes, runs, globalBucket, campaignBucket, earlier = {ledgers}}
-- a: {run, id, mode, globalRate, campaignRate, version, now}
local function claimOne(k, a)
  local f = redis.call('HMGET', k.meta, 'state', 'ver')
  if f[1] ~= 'sending' then return {'halt', f[1] or 'missing'} end
  if (f[2] or '1') ~= a.version then return {'stale', f[2] or '1'} end

  local id = a.id
  local mine = 'c:' .. a.run
  local cur = redis.call('HGET', k.ledger, id)
  if cur == mine then return {'claimed'} end
  local now = a.now

  if isClaim(cur) then
    -- Another run's claim. While that run's heartbeat lasts it will record the answer
    -- itself; once it has run out, or the run ended without recording, nobody knows
    -- whether the mail arrived: unclear, never sent again on its own.
    local expiry = redis.call('HGET', k.runs, string.sub(cur, 3))
    if expiry and tonumber(expiry) > now then return {'busy'} end
    local cause = expiry and 'worker died' or 'answer not recorded'
    redis.call('HSET', k.ledger, id, 'u')
    redis.call('SADD', k.unclear, id)
    redis.call('HSET', k.notes, id, cause)
    redis.call('HINCRBY', k.meta, 'unclear', 1)
    return {'done', 'u'}
  end

  if a.mode == 'resend' then
    if cur ~= 'u' then return {'done', cur or 'none'} end
  elseif cur then
    return {'done', cur}
  else
    -- A send to the rest: whoever an earlier campaign of the issue reached (sent, bounced,
    -- unclear, or claimed and never recorded) is not mailed again.
    for _, earlierLedger in ipairs(k.earlier) do
      local earlier = redis.call('HGET', earlierLedger, id)
      if earlier == 's' or earlier == 'b' or earlier == 'u' or isClaim(earlier) then
        redis.call('HSET', k.ledger, id, 'p')
        redis.call('HINCRBY', k.meta, 'previously', 1)
        return {'done', 'p'}
      end
    end
  end

  -- Token buckets: capacity rate/5 (a fifth of a second's burst), refilled continuously.
  local wait = 0
  local buckets = {}
  for _, b in ipairs({{k.globalBucket, a.globalRate}, {k.campaignBucket, a.campaignRate}}) do
    local key, rate = b[1], b[2]
    if rate > 0 then
      local cap = math.max(1, math.ceil(rate / 5))
      local state = redis.call('HMGET', key, 'tokens', 'ts')
      local tokens = tonumber(state[1]) or cap
      local ts = tonumber(state[2]) or now
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
    redis.call('SREM', k.unclear, id)
    redis.call('HDEL', k.notes, id)
    redis.call('HINCRBY', k.meta, 'unclear', -1)
  end
  redis.call('HSET', k.ledger, id, mine)
  return {'claimed'}
end
