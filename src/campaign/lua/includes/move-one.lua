--- @include "includes/ledger-codes"
-- One ledger move, callable in a loop by a script that records many answers (mark-many-4.lua,
-- the skips in claim-many.lua). The campaign's counters, `lastAt` and the
-- failure streaks are gathered in `acc` and written once per script by flushMoves, so a
-- group of answers costs one HINCRBY per counter, not one per recipient.
-- k: {meta, ledger, unclear, notes}
-- a: {id, expected, code, note, streak}
local function newMoves()
  return { deltas = {}, touched = false, streaks = {} }
end

local function moveOne(k, a, acc)
  local cur = redis.call('HGET', k.ledger, a.id)
  if (a.expected == '' and cur) or (a.expected ~= '' and cur ~= a.expected) then return {'moved', cur or ''} end

  if cur and COUNTERS[cur] then acc.deltas[COUNTERS[cur]] = (acc.deltas[COUNTERS[cur]] or 0) - 1 end
  if cur == 'u' then redis.call('SREM', k.unclear, a.id) end
  if a.code == 'r' then
    redis.call('HDEL', k.ledger, a.id)
    redis.call('HDEL', k.notes, a.id)
  else
    redis.call('HSET', k.ledger, a.id, a.code)
    acc.deltas[COUNTERS[a.code]] = (acc.deltas[COUNTERS[a.code]] or 0) + 1
    acc.touched = true
    if a.code == 'u' then redis.call('SADD', k.unclear, a.id) end
    -- A claim never has a note (claims are made from no entry, or from u after its note
    -- was dropped), so answering one needs no HDEL.
    if a.note ~= '' then redis.call('HSET', k.notes, a.id, a.note) elseif not isClaim(cur) then redis.call('HDEL', k.notes, a.id) end
  end

  local count = 0
  if a.streak == 'reset' then
    acc.streaks.conn = 0
  elseif a.streak ~= '' then
    local streak = acc.streaks[a.streak]
    if streak == nil then streak = tonumber(redis.call('HGET', k.meta, 'streak:' .. a.streak) or '0') or 0 end
    count = streak + 1
    acc.streaks[a.streak] = count
  end
  return {'ok', count}
end

-- Writes what moveOne gathered: counters, the time of the last answer, the streaks.
local function flushMoves(k, acc, now)
  for name, delta in pairs(acc.deltas) do
    if delta ~= 0 then redis.call('HINCRBY', k.meta, name, delta) end
  end
  if acc.touched then redis.call('HSET', k.meta, 'lastAt', now) end
  for name, count in pairs(acc.streaks) do redis.call('HSET', k.meta, 'streak:' .. name, count) end
end
