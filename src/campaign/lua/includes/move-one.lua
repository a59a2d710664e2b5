--- @include "includes/ledger-codes"
-- Ledger moves gathered per script call, so a group of them costs a few Redis commands in
-- all, not a few per recipient: the entries are read with one HMGET, and what changed
-- (entries, notes, the unclear set, counters, `lastAt`, failure streaks) is written once,
-- by flushMoves, from the final state of each. Used by mark-many-4.lua and claim-many.lua.
-- k: {meta, ledger, unclear, notes}

local function newMoves(k)
  -- code: id → current code (false: none); ledger, notes: id → final value (false: delete);
  -- inUnclear: id → true (add) / false (remove)
  return { k = k, code = {}, ledger = {}, notes = {}, inUnclear = {}, deltas = {}, touched = false, streaks = {} }
end

-- Reads the entries of `ids` in one call.
local function loadCodes(acc, ids)
  if #ids == 0 then return end
  local codes = redis.call('HMGET', acc.k.ledger, unpack(ids))
  for i, id in ipairs(ids) do acc.code[id] = codes[i] end
end

local function codeOf(acc, id)
  local cur = acc.code[id]
  if cur == nil then
    cur = redis.call('HGET', acc.k.ledger, id)
    acc.code[id] = cur
  end
  return cur
end

-- Moves one entry from the code expected to a new one.
-- a: {id, expected ('' for none), code (s b f u k p, or r: release a claim), note, streak}
-- Returns {'ok', streak count} or {'moved', current code}.
local function moveOne(acc, a)
  local id = a.id
  local cur = codeOf(acc, id)
  if (a.expected == '' and cur) or (a.expected ~= '' and cur ~= a.expected) then return {'moved', cur or ''} end

  local function add(counter, by) acc.deltas[counter] = (acc.deltas[counter] or 0) + by end
  if cur and COUNTERS[cur] then add(COUNTERS[cur], -1) end
  -- A skip's note is its reason; each reason has its own counter next to `skipped`.
  if cur == 'k' then
    local why = acc.notes[id]
    if why == nil then why = redis.call('HGET', acc.k.notes, id) end
    if why then add('skipped:' .. why, -1) end
  end
  if cur == 'u' then acc.inUnclear[id] = false end
  if a.code == 'r' then
    acc.code[id] = false
    acc.ledger[id] = false
    acc.notes[id] = false
  else
    acc.code[id] = a.code
    acc.ledger[id] = a.code
    add(COUNTERS[a.code], 1)
    if a.code == 'k' and a.note ~= '' then add('skipped:' .. a.note, 1) end
    acc.touched = true
    if a.code == 'u' then acc.inUnclear[id] = true end
    -- A claim never has a note (claims are made from no entry, or from u after its note
    -- was dropped), so answering one needs no HDEL.
    if a.note ~= '' then acc.notes[id] = a.note elseif not isClaim(cur) then acc.notes[id] = false end
  end

  local count = 0
  if a.streak == 'reset' then
    -- The server answered otherwise: every failure streak ends.
    acc.streaks.conn = 0
    acc.streaks.policy = 0
  elseif a.streak ~= '' then
    local streak = acc.streaks[a.streak]
    if streak == nil then streak = tonumber(redis.call('HGET', acc.k.meta, 'streak:' .. a.streak) or '0') or 0 end
    count = streak + 1
    acc.streaks[a.streak] = count
  end
  return {'ok', count}
end

-- A command with many arguments, in slices unpack can take.
local function callMany(command, key, args)
  for i = 1, #args, 1000 do
    redis.call(command, key, unpack(args, i, math.min(i + 999, #args)))
  end
end

-- Writes what the moves left, from the final state of each entry.
local function flushMoves(acc, now)
  local k = acc.k
  for _, target in ipairs({{k.ledger, acc.ledger}, {k.notes, acc.notes}}) do
    local sets, dels = {}, {}
    for id, value in pairs(target[2]) do
      if value then sets[#sets + 1] = id; sets[#sets + 1] = value else dels[#dels + 1] = id end
    end
    callMany('HSET', target[1], sets)
    callMany('HDEL', target[1], dels)
  end
  local adds, rems = {}, {}
  for id, member in pairs(acc.inUnclear) do
    if member then adds[#adds + 1] = id else rems[#rems + 1] = id end
  end
  callMany('SADD', k.unclear, adds)
  callMany('SREM', k.unclear, rems)
  for name, delta in pairs(acc.deltas) do
    if delta ~= 0 then redis.call('HINCRBY', k.meta, name, delta) end
  end
  local meta = {}
  if acc.touched then meta[1] = 'lastAt'; meta[2] = now end
  for name, count in pairs(acc.streaks) do meta[#meta + 1] = 'streak:' .. name; meta[#meta + 1] = count end
  callMany('HSET', k.meta, meta)
end
