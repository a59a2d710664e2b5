--[[
  Reserves a campaign for an issue and a list: the one atomic step before any lint or
  compile. The campaign starts as `preparing`, and both it and the issue+list claim
  expire unless `freeze` makes them permanent, so a send that dies while compiling
  leaves nothing behind.

  KEYS[1] campaign meta (HASH)
  KEYS[2] live claim of the issue+list (STRING)
  KEYS[3] the issue's campaign history (SET)
  KEYS[4..] for every campaign in the history: its meta, then its ledger

  ARGV[1] campaign id
  ARGV[2] list
  ARGV[3] mode: new | again | rest
  ARGV[4] ttl of a preparation (ms)
  ARGV[5] how many campaigns the caller found in the history
  ARGV[6..] field, value pairs of the new campaign

  Returns {'ok'}, {'live', id of the live campaign, its state}, {'sent', id of the
  campaign that reached readers of this list already}, or {'retry'} when the history
  changed since the caller read it.
]]
local id, list, mode = ARGV[1], ARGV[2], ARGV[3]
if redis.call('SCARD', KEYS[3]) ~= tonumber(ARGV[5]) then return {'retry'} end

local holder = redis.call('GET', KEYS[2])
if holder then
  return {'live', holder}
end

if mode == 'new' then
  for i = 4, #KEYS, 2 do
    local f = redis.call('HMGET', KEYS[i], 'id', 'list', 'skipped', 'failed', 'previously')
    if f[2] == list then
      -- Reached: anyone with a ledger entry other than skipped, failed or reached before;
      -- claims count, since their mail may be on its way.
      local reached = redis.call('HLEN', KEYS[i + 1]) - tonumber(f[3] or '0') - tonumber(f[4] or '0') - tonumber(f[5] or '0')
      if reached > 0 then return {'sent', f[1]} end
    end
  end
end

local ttl = tonumber(ARGV[4])
redis.call('SET', KEYS[2], id, 'PX', ttl)
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HSET', KEYS[1], 'state', 'preparing')
redis.call('PEXPIRE', KEYS[1], ttl)
return {'ok'}
