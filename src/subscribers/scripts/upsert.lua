-- Subscribers from an import, the CLI or the dev seed, many per call: creates new ones,
-- updates names and languages, applies a suppression (unsubscribed, bounced, complained)
-- over pending and active, and joins them to the list. Never lifts a suppression, and
-- never puts a reader back on a list they left unless ops ask for it by name (rejoin).
-- KEYS: 1 email index, 2 list counts, 3 the list's members, 4 list names, 5 join sequence,
--       then per row: its subscriber hash, its consent log
-- ARGV: 1 now (ms), 2 list ('' none), 3 language of new rows without one, 4 status of new
--       rows without one, 5 source, 6 signup time (ms, '' none), 7 signup IP,
--       8 consent-log entry for created rows ('' none), 9 now (ISO), 10 '1' puts back
--       readers who left the list, then 7 values per row: id, '1' when the id is new,
--       email, email index field, name ('' keeps), lang ('' keeps), status ('' keeps)
-- Returns per row: id, outcome (0 unchanged, 1 created, 2 updated, 3 retry: the address
-- changed hands since it was looked up), joined (0 no, 1 yes, 2 kept off: they left it).
-- @include counts
local idx, counts, members, lists, joinseq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, list = ARGV[1], ARGV[2]
local suppress = { unsubscribed = true, bounced = true, complained = true }
local lf, leftf = 'l:' .. list, 'left:' .. list
local out = {}
-- Joins are gathered and written once per call: a new subscriber costs one HSET in the loop.
local seq = tonumber(redis.call('GET', joinseq) or '0')
local startSeq = seq
local zargs, deltas = {}, {}
local function join(sk, id, status, lang, f)
  seq = seq + 1
  local s = string.format('%d', seq)
  f[#f + 1] = lf
  f[#f + 1] = s
  zargs[#zargs + 1] = s
  zargs[#zargs + 1] = id
  local ck = list .. ':' .. status .. ':' .. lang
  deltas[ck] = (deltas[ck] or 0) + 1
end

-- The index is read once for the whole call; addresses created by an earlier row of this
-- call (the same address twice in one file) are tracked here.
local ekeys = {}
for i = 14, #ARGV, 7 do ekeys[#ekeys + 1] = ARGV[i] end
local indexed = redis.call('HMGET', idx, unpack(ekeys))
local created, newIdx = {}, {}
-- A new random id is checked against existing keys (a collision must never merge two
-- readers), but with one EXISTS for the whole call: only when it finds any does each row ask.
local freshKeys, r = {}, 0
for i = 11, #ARGV, 7 do
  r = r + 1
  if ARGV[i + 1] == '1' and not indexed[r] then freshKeys[#freshKeys + 1] = KEYS[4 + r * 2] end
end
local anyTaken = #freshKeys > 0 and redis.call('EXISTS', unpack(freshKeys)) > 0
local row = 0
for i = 11, #ARGV, 7 do
  row = row + 1
  local sk, logkey = KEYS[4 + row * 2], KEYS[5 + row * 2]
  local id, fresh, email, ekey, name, lang, status = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local found = created[ekey] or indexed[row]
  local outcome, joined = 0, 0
  if fresh == '1' and not found then
    if anyTaken and redis.call('EXISTS', sk) == 1 then
      outcome = 3
    else
      local curLang = (lang ~= '' and lang) or ARGV[3]
      local curStatus = (status ~= '' and status) or ARGV[4]
      local f = { 'email', email, 'lang', curLang, 'status', curStatus, 'created', now }
      if name ~= '' then f[#f + 1] = 'name'; f[#f + 1] = name end
      if ARGV[5] ~= '' then f[#f + 1] = 'src'; f[#f + 1] = ARGV[5] end
      if ARGV[6] ~= '' then f[#f + 1] = 'signupAt'; f[#f + 1] = ARGV[6] end
      if ARGV[7] ~= '' then f[#f + 1] = 'signupIp'; f[#f + 1] = ARGV[7] end
      if list ~= '' then
        join(sk, id, curStatus, curLang, f)
        joined = 1
      end
      redis.call('HSET', sk, unpack(f))
      created[ekey] = id
      newIdx[#newIdx + 1] = ekey
      newIdx[#newIdx + 1] = id
      if ARGV[8] ~= '' then redis.call('RPUSH', logkey, ARGV[8]) end
      outcome = 1
    end
  elseif found ~= id then
    outcome = 3
  else
    local cur = redis.call('HMGET', sk, 'status', 'lang', 'name', lf, leftf)
    local curStatus, curLang = cur[1], cur[2]
    local newStatus, newLang = curStatus, curLang
    if lang ~= '' then newLang = lang end
    if status ~= '' and suppress[status] and not suppress[curStatus] then newStatus = status end
    local f = {}
    if newLang ~= curLang then f[#f + 1] = 'lang'; f[#f + 1] = newLang end
    if newStatus ~= curStatus then
      f[#f + 1] = 'status'; f[#f + 1] = newStatus
      f[#f + 1] = 'reason'; f[#f + 1] = 'import'
      redis.call('RPUSH', logkey, cjson.encode({ at = ARGV[9], event = 'status-changed', status = newStatus, via = (ARGV[5] ~= '' and ARGV[5]) or 'import' }))
    end
    if name ~= '' and name ~= cur[3] then f[#f + 1] = 'name'; f[#f + 1] = name end
    if #f > 0 then
      move_counts(counts, sk, curStatus, curLang, newStatus, newLang)
      f[#f + 1] = 'updated'; f[#f + 1] = now
      curStatus, curLang = newStatus, newLang
      outcome = 2
    end
    if list ~= '' and not cur[4] then
      if cur[5] and ARGV[10] ~= '1' then
        joined = 2
      else
        join(sk, id, curStatus, curLang, f)
        if cur[5] then redis.call('HDEL', sk, leftf) end
        joined = 1
      end
    end
    if #f > 0 then redis.call('HSET', sk, unpack(f)) end
  end
  out[#out + 1] = id
  out[#out + 1] = outcome
  out[#out + 1] = joined
end
if #newIdx > 0 then redis.call('HSET', idx, unpack(newIdx)) end
if #zargs > 0 then redis.call('ZADD', members, unpack(zargs)) end
if seq ~= startSeq then redis.call('SET', joinseq, string.format('%d', seq)) end
for ck, n in pairs(deltas) do redis.call('HINCRBY', counts, ck, n) end
if list ~= '' then redis.call('SADD', lists, list) end
return out
