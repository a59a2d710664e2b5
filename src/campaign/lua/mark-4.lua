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
--- @include "includes/move-one"
return moveOne(
  { meta = KEYS[1], ledger = KEYS[2], unclear = KEYS[3], notes = KEYS[4] },
  { id = ARGV[1], expected = ARGV[2], code = ARGV[3], note = ARGV[4], streak = ARGV[5], now = ARGV[6] })
