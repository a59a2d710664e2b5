--[[
  Moves one recipient's ledger entry from the code the caller expects to a new one and
  keeps the campaign's counters with it. The one script for every ledger change after a
  claim: the answer to a claim (c:<run> → s, b, f, u, or released), a skip before any
  claim ('' → k, or u → k in a resend), a failure before any claim ('' → f), and later
  corrections (s → b when a bounce comes back days later).

  KEYS[1] meta  KEYS[2] ledger  KEYS[3] unclear (SET)  KEYS[4] notes
  ARGV[1] subscriber id  ARGV[2] expected code ('' for none)
  ARGV[3] new code (s b f u k p, or r to release the claim)
  ARGV[4] note: why it failed, bounced or is unclear ('' for none)
  ARGV[5] streak: '' leaves the failure streaks alone, 'reset' clears them (the server
          answered), any other name counts one more failure of that kind in a row
  ARGV[6] now (ms)

  Returns {'ok', streak count} or {'moved', current code} when the entry was not what
  the caller expected (e.g. a dead run's claim already turned unclear).
]]
--- @include "includes/ledger-codes"
local meta, ledger, unclear, notes = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, expected, code, note, streak = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local cur = redis.call('HGET', ledger, id)
if (expected == '' and cur) or (expected ~= '' and cur ~= expected) then return {'moved', cur or ''} end

if cur and COUNTERS[cur] then redis.call('HINCRBY', meta, COUNTERS[cur], -1) end
if cur == 'u' then redis.call('SREM', unclear, id) end
if code == 'r' then
  redis.call('HDEL', ledger, id)
  redis.call('HDEL', notes, id)
else
  redis.call('HSET', ledger, id, code)
  redis.call('HINCRBY', meta, COUNTERS[code], 1)
  redis.call('HSET', meta, 'lastAt', ARGV[6])
  if code == 'u' then redis.call('SADD', unclear, id) end
  if note ~= '' then redis.call('HSET', notes, id, note) else redis.call('HDEL', notes, id) end
end

local count = 0
if streak == 'reset' then
  redis.call('HSET', meta, 'streak:conn', 0)
elseif streak ~= '' then
  count = redis.call('HINCRBY', meta, 'streak:' .. streak, 1)
end
return {'ok', count}
