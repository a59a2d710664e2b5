--[[
  Claims a group of recipients of one campaign before their SMTP transactions, in one
  call: the campaign's state and edition version once, each recipient's ledger entry and
  subscriber record, then as many rate-limit tokens as the group needs. The caller holds
  an in-flight slot for every id it passes, so a group never claims more than can be in
  flight at once.

  A recipient whose subscriber record is gone or not active is skipped here, without a
  token; the record is read in the same atomic step as the claim, so whoever unsubscribed
  before it gets nothing, and the worker needs no read of its own.

  KEYS[1] meta  KEYS[2] ledger  KEYS[3] unclear (SET)  KEYS[4] notes
  KEYS[5] runs (HASH run → heartbeat expiry)  KEYS[6] global bucket  KEYS[7] campaign bucket
  KEYS[8 .. 7+E] ledgers of earlier campaigns of the issue (a send to the rest only)
  KEYS[8+E ..] the subscriber record (HASH) of each id, in the order of the ids

  ARGV[1] run  ARGV[2] mode: send | resend  ARGV[3] global rate
  ARGV[4] campaign rate (0: none)  ARGV[5] edition version held
  ARGV[6] E, the number of earlier ledgers  ARGV[7] F, the number of record fields
  ARGV[8 .. 7+F] the record fields to read; the first is the status, 'active' sends
  ARGV[8+F ..] the subscriber ids

  Returns {'halt', state} or {'stale', version} for the whole group (nothing written), or
  {'ok', wait ms, results} with one result per id:
    {'claimed', field 2, field 3, …}  claimed (or this run's already); the record's other fields
    {'skipped'}                        not active: recorded as skipped
    {'done', code}                     handled already ('u' for a dead run's claim, 'p')
    {'busy'}                           claimed by a run that is still alive; ask later
    {'wait'}                           no token yet; ask again for these after `wait ms`
]]
--- @include "includes/now"
--- @include "includes/claim-one"
--- @include "includes/move-one"
local E = tonumber(ARGV[6])
local F = tonumber(ARGV[7])
local earlier = {}
for i = 1, E do earlier[i] = KEYS[7 + i] end
local fields = {}
for i = 1, F do fields[i] = ARGV[7 + i] end
local firstId = 8 + F
local k = { meta = KEYS[1], ledger = KEYS[2], unclear = KEYS[3], notes = KEYS[4], runs = KEYS[5],
  globalBucket = KEYS[6], campaignBucket = KEYS[7], earlier = earlier }
local a = { run = ARGV[1], mode = ARGV[2], globalRate = tonumber(ARGV[3]), campaignRate = tonumber(ARGV[4]),
  version = ARGV[5], now = nowMs() }

local gate = campaignGate(k, a)
if gate then return gate end

local acc = newMoves(k)
local ids = {}
for i = firstId, #ARGV do ids[#ids + 1] = ARGV[i] end
loadCodes(acc, ids)
local out = {}
local candidates = {}
local function claimedWith(record)
  local reply = {'claimed'}
  for i = 2, F do reply[i] = record[i] or '' end
  return reply
end
for slot, id in ipairs(ids) do
  local answer, cur = ledgerTurn(k, a, id, acc.code[id])
  if answer and answer[1] ~= 'claimed' then
    acc.code[id] = cur
    out[slot] = answer
  else
    local record = redis.call('HMGET', KEYS[7 + E + slot], unpack(fields))
    if record[1] ~= 'active' then
      moveOne(acc, { id = id, expected = cur or '', code = 'k', note = '', streak = '' })
      out[slot] = {'skipped'}
    elseif answer then
      out[slot] = claimedWith(record)
    else
      candidates[#candidates + 1] = { slot = slot, id = id, cur = cur, record = record }
    end
  end
end

local grant, wait = takeTokens(k, a, #candidates)
for j, c in ipairs(candidates) do
  if j <= grant then
    claimWrite(acc, a, c.id, c.cur)
    out[c.slot] = claimedWith(c.record)
  else
    out[c.slot] = {'wait'}
  end
end
flushMoves(acc, a.now)
return {'ok', tostring(wait), out}
