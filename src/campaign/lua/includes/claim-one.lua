--- @include "includes/ledger-codes"
--- @include "includes/move-one"
-- A claim's decision in its steps, so claim.lua (one recipient) and claim-many.lua (a
-- group) make it the same way.
-- k: {meta, ledger, unclear, notes, runs, globalBucket, campaignBucket, earlier = {ledgers}}
-- a: {run, mode, globalRate, campaignRate, version, now}

-- nil while the campaign is sending with the editions the worker holds.
local function campaignGate(k, a)
  local f = redis.call('HMGET', k.meta, 'state', 'ver')
  if f[1] ~= 'sending' then return {'halt', f[1] or 'missing'} end
  if (f[2] or '1') ~= a.version then return {'stale', f[2] or '1'} end
  return nil
end

-- What the ledger says of one recipient whose entry is `cur`. Returns a final answer
-- ({'done', code}, {'busy'}, or {'claimed'} when this run holds it already), or nil when a
-- claim may be made; the current code comes second.
local function ledgerTurn(k, a, id, cur)
  local mine = 'c:' .. a.run
  if cur == mine then return {'claimed'}, cur end

  if isClaim(cur) then
    -- Another run's claim. While that run's heartbeat lasts it will record the answer
    -- itself; once it has run out, or the run ended without recording, nobody knows
    -- whether the mail arrived: unclear, never sent again on its own.
    local expiry = redis.call('HGET', k.runs, string.sub(cur, 3))
    if expiry and tonumber(expiry) > a.now then return {'busy'}, cur end
    local cause = expiry and 'worker died' or 'answer not recorded'
    redis.call('HSET', k.ledger, id, 'u')
    redis.call('SADD', k.unclear, id)
    redis.call('HSET', k.notes, id, cause)
    redis.call('HINCRBY', k.meta, 'unclear', 1)
    return {'done', 'u'}, 'u'
  end

  if a.mode == 'resend' then
    if cur ~= 'u' then return {'done', cur or 'none'}, cur end
  elseif cur then
    return {'done', cur}, cur
  else
    -- A send to the rest: whoever an earlier campaign of the issue reached (sent, bounced,
    -- unclear, or claimed and never recorded) is not mailed again.
    for _, earlierLedger in ipairs(k.earlier) do
      local earlier = redis.call('HGET', earlierLedger, id)
      if earlier == 's' or earlier == 'b' or earlier == 'u' or isClaim(earlier) then
        redis.call('HSET', k.ledger, id, 'p')
        redis.call('HINCRBY', k.meta, 'previously', 1)
        return {'done', 'p'}, 'p'
      end
    end
  end
  return nil, cur
end

-- Token buckets: capacity rate/5 (a fifth of a second's burst), refilled continuously.
-- A bucket may go below zero: a group claim that found too few tokens reserves those its
-- waiting recipients need and sleeps until they are paid for, so it asks once more, not
-- again and again against other workers.
-- Returns the buckets as they stand now and how many whole tokens all of them hold.
local function readBuckets(k, a)
  local buckets = {}
  local available = math.huge
  for _, b in ipairs({{k.globalBucket, a.globalRate}, {k.campaignBucket, a.campaignRate}}) do
    local key, rate = b[1], b[2]
    if rate > 0 then
      local cap = math.max(1, math.ceil(rate / 5))
      local state = redis.call('HMGET', key, 'tokens', 'ts')
      local tokens = tonumber(state[1]) or cap
      local ts = tonumber(state[2]) or a.now
      if a.now > ts then tokens = math.min(cap, tokens + (a.now - ts) * rate / 1000) end
      available = math.min(available, math.max(0, math.floor(tokens)))
      buckets[#buckets + 1] = { key = key, rate = rate, tokens = tokens }
    end
  end
  return buckets, available
end

-- Takes n tokens from every bucket (n may exceed what they hold: a reservation) and
-- returns the milliseconds until none is below zero any more.
local function chargeBuckets(a, buckets, n)
  local wait = 0
  for _, b in ipairs(buckets) do
    local left = b.tokens - n
    if n > 0 then redis.call('HSET', b.key, 'tokens', tostring(left), 'ts', tostring(a.now)) end
    if left < 0 then wait = math.max(wait, math.ceil(-left * 1000 / b.rate)) end
  end
  return wait
end

-- The claim, gathered in `acc` (see move-one): the recipient is this run's until it records
-- the answer.
local function claimWrite(acc, a, id, cur)
  if cur == 'u' then
    acc.inUnclear[id] = false
    acc.notes[id] = false
    acc.deltas.unclear = (acc.deltas.unclear or 0) - 1
  end
  acc.code[id] = 'c:' .. a.run
  acc.ledger[id] = 'c:' .. a.run
end

-- One recipient's whole claim (claim.lua).
local function claimOne(k, a)
  local gate = campaignGate(k, a)
  if gate then return gate end
  local answer, cur = ledgerTurn(k, a, a.id, redis.call('HGET', k.ledger, a.id))
  if answer then return answer end
  local buckets, available = readBuckets(k, a)
  if available < 1 then
    local wait = 0
    for _, b in ipairs(buckets) do wait = math.max(wait, math.ceil((1 - b.tokens) * 1000 / b.rate)) end
    return {'wait', tostring(math.max(wait, 1))}
  end
  chargeBuckets(a, buckets, 1)
  local acc = newMoves(k)
  claimWrite(acc, a, a.id, cur)
  flushMoves(acc, a.now)
  return {'claimed'}
end
