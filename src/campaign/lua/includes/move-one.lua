--- @include "includes/ledger-codes"
-- One ledger move (mark-4.lua), callable in a loop by a script that records many answers.
-- k: {meta, ledger, unclear, notes}
-- a: {id, expected, code, note, streak, now}
local function moveOne(k, a)
  local cur = redis.call('HGET', k.ledger, a.id)
  if (a.expected == '' and cur) or (a.expected ~= '' and cur ~= a.expected) then return {'moved', cur or ''} end

  if cur and COUNTERS[cur] then redis.call('HINCRBY', k.meta, COUNTERS[cur], -1) end
  -- A skip's note is its reason; each reason has its own counter next to `skipped`.
  if cur == 'k' then
    local why = redis.call('HGET', k.notes, a.id)
    if why then redis.call('HINCRBY', k.meta, 'skipped:' .. why, -1) end
  end
  if cur == 'u' then redis.call('SREM', k.unclear, a.id) end
  if a.code == 'r' then
    redis.call('HDEL', k.ledger, a.id)
    redis.call('HDEL', k.notes, a.id)
  else
    redis.call('HSET', k.ledger, a.id, a.code)
    redis.call('HINCRBY', k.meta, COUNTERS[a.code], 1)
    if a.code == 'k' and a.note ~= '' then redis.call('HINCRBY', k.meta, 'skipped:' .. a.note, 1) end
    redis.call('HSET', k.meta, 'lastAt', a.now)
    if a.code == 'u' then redis.call('SADD', k.unclear, a.id) end
    if a.note ~= '' then redis.call('HSET', k.notes, a.id, a.note) else redis.call('HDEL', k.notes, a.id) end
  end

  local count = 0
  if a.streak == 'reset' then
    redis.call('HSET', k.meta, 'streak:conn', 0, 'streak:policy', 0)
  elseif a.streak ~= '' then
    count = redis.call('HINCRBY', k.meta, 'streak:' .. a.streak, 1)
  end
  return {'ok', count}
end
