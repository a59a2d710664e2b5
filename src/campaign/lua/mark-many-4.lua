--[[
  Moves recipients' ledger entries from the code the caller expects to a new one and keeps
  the campaign's counters with them: the one script for every ledger change after a claim
  (the answer to a claim: c:<run> → s, b, f, u, or released), a skip before any claim
  ('' → k, or u → k in a resend), a failure before any claim ('' → f), and later
  corrections (s → b when a bounce comes back days later). A worker sends every move it
  asks for during one turn of its event loop in one call. Entries are moved in the order
  given (so failure streaks count as they would one by one), each checked on its own; the
  counters move once for the whole call.

  KEYS[1] meta  KEYS[2] ledger  KEYS[3] unclear (SET)  KEYS[4] notes
  ARGV[1] now (ms)
  then per entry five values:
    subscriber id; expected code ('' for none); new code (s b f u k p, or r to release the
    claim); note: why it failed, bounced or is unclear ('' for none); streak: '' leaves the
    failure streaks alone, 'reset' clears them (the server answered), any other name counts
    one more failure of that kind in a row

  Returns per entry {'ok', streak count}, or {'moved', current code} when the entry was not
  what the caller expected (e.g. a dead run's claim already turned unclear).
]]
--- @include "includes/move-one"
local acc = newMoves({ meta = KEYS[1], ledger = KEYS[2], unclear = KEYS[3], notes = KEYS[4] })
local ids = {}
for i = 2, #ARGV, 5 do ids[#ids + 1] = ARGV[i] end
loadCodes(acc, ids)
local out = {}
for i = 2, #ARGV, 5 do
  out[#out + 1] = moveOne(acc, { id = ARGV[i], expected = ARGV[i + 1], code = ARGV[i + 2], note = ARGV[i + 3], streak = ARGV[i + 4] })
end
flushMoves(acc, ARGV[1])
return out
