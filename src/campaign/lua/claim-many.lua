--[[
  Claims a group of recipients of one campaign before their SMTP transactions, in one
  call: the campaign's state and edition version once, each recipient's ledger entry and
  subscriber record, then as many rate-limit tokens as the group needs. The caller holds
  an in-flight slot for every id it passes, so a group never claims more than can be in
  flight at once.

  A recipient not to be sent to is skipped here, without a token, with the reason as the
  note: 'inactive' (record gone or not active), 'left-list' (no longer on the campaign's
  list), 'no-edition' (their language gets no edition). These are the checks of
  recipient-decision.ts, which the worker makes again on the record returned. The record
  is read in the same atomic step as the claim, so whoever unsubscribed before it gets
  nothing, and the worker needs no read of its own.

  KEYS[1] meta  KEYS[2] ledger  KEYS[3] unclear (SET)  KEYS[4] notes
  KEYS[5] runs (HASH run → heartbeat expiry)  KEYS[6] global bucket  KEYS[7] campaign bucket
  KEYS[8 .. 7+E] ledgers of earlier campaigns of the issue (a send to the rest only)
  KEYS[8+E ..] the subscriber record (HASH) of each id, in the order of the ids

  ARGV[1] run  ARGV[2] mode: send | resend  ARGV[3] global rate
  ARGV[4] campaign rate (0: none)  ARGV[5] edition version held
  ARGV[6] prepaid: tokens this caller reserved in its last call for these ids
  ARGV[7] reader languages that get an edition, comma-separated
  ARGV[8] E, the number of earlier ledgers  ARGV[9] F, the number of record fields
  ARGV[10 .. 9+F] the record fields to read: status, email, name, lang, list membership
  ARGV[10+F ..] the subscriber ids

  Returns {'halt', state} or {'stale', version} for the whole group (nothing written), or
  {'ok', wait ms, results, reserved} with one result per id:
    {'claimed', field 1, field 2, …}  claimed (or this run's already), with the record's fields
    {'skipped', reason}                not to be sent to: recorded as skipped
    {'done', code}                     handled already ('u' for a dead run's claim, 'p')
    {'busy'}                           claimed by a run that is still alive; ask later
    {'wait'}                           no token yet; ask again for these after `wait ms`
  Tokens for the waiting ones are reserved (`reserved`, the buckets go below zero) and
  `wait ms` is when they are paid for: the caller asks once more with them as prepaid.
  Records are read only for as many recipients as there are tokens.
]]
--- @include "includes/now"
--- @include "includes/claim-one"
--- @include "includes/move-one"
local prepaid = tonumber(ARGV[6]) or 0
local sendLangs = {}
for lang in string.gmatch(ARGV[7], '[^,]+') do sendLangs[lang] = true end
local E = tonumber(ARGV[8])
local F = tonumber(ARGV[9])
local earlier = {}
for i = 1, E do earlier[i] = KEYS[7 + i] end
local fields = {}
for i = 1, F do fields[i] = ARGV[9 + i] end
local firstId = 10 + F
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
local function claimedWith(record)
  local reply = {'claimed'}
  for i = 1, F do reply[i + 1] = record[i] or '' end
  return reply
end
-- Why a reader is not sent to, or nil (recipient-decision.ts, in the same order).
local function skipReason(record)
  if record[1] ~= 'active' then return 'inactive' end
  if not record[5] then return 'left-list' end
  if not sendLangs[record[4]] then return 'no-edition' end
  return nil
end
local buckets, available = readBuckets(k, a)
local budget = prepaid + available
local claimed = 0
local waiting = 0
for slot, id in ipairs(ids) do
  local answer, cur = ledgerTurn(k, a, id, acc.code[id])
  if answer and answer[1] ~= 'claimed' then
    acc.code[id] = cur
    out[slot] = answer
  elseif not answer and claimed >= budget then
    out[slot] = {'wait'}
    waiting = waiting + 1
  else
    local record = redis.call('HMGET', KEYS[7 + E + slot], unpack(fields))
    local reason = skipReason(record)
    if reason then
      moveOne(acc, { id = id, expected = cur or '', code = 'k', note = reason, streak = '' })
      out[slot] = {'skipped', reason}
    else
      if not answer then
        claimWrite(acc, a, id, cur)
        claimed = claimed + 1
      end
      out[slot] = claimedWith(record)
    end
  end
end
local wait = chargeBuckets(a, buckets, math.max(0, claimed - prepaid) + waiting)
if waiting > 0 then wait = math.max(wait, 1) else wait = 0 end
flushMoves(acc, a.now)
return {'ok', tostring(wait), out, waiting}
