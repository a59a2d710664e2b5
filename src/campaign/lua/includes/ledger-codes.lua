-- Ledger codes and the campaign counter each one adds to (see ledger.ts).
local COUNTERS = { s = 'sent', b = 'bounced', f = 'failed', u = 'unclear', k = 'skipped', p = 'previously' }
local function isClaim(code)
  return code ~= false and code ~= nil and string.sub(code, 1, 2) == 'c:'
end
