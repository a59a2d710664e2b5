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
--- @include "includes/claim-one"
local earlier = {}
for i = 8, #KEYS do earlier[#earlier + 1] = KEYS[i] end
return claimOne(
  { meta = KEYS[1], ledger = KEYS[2], unclear = KEYS[3], notes = KEYS[4], runs = KEYS[5],
    globalBucket = KEYS[6], campaignBucket = KEYS[7], earlier = earlier },
  { run = ARGV[1], id = ARGV[2], mode = ARGV[3], globalRate = tonumber(ARGV[4]),
    campaignRate = tonumber(ARGV[5]), version = ARGV[6], now = nowMs() })
