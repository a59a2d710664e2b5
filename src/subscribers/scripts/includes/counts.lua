-- The lists a subscriber is on: the `l:<list>` fields of their hash.
local function lists_of(sk)
  local out = {}
  for _, field in ipairs(redis.call('HKEYS', sk)) do
    if string.sub(field, 1, 2) == 'l:' then out[#out + 1] = string.sub(field, 3) end
  end
  return out
end

-- Member counts of all lists live in one hash, field `<list>:<status>:<lang>`. A change of
-- status or language moves the subscriber on each of their lists, in the same script as
-- the change, so the counts always match the members.
local function move_counts(counts, sk, fromStatus, fromLang, toStatus, toLang)
  if fromStatus == toStatus and fromLang == toLang then return end
  for _, list in ipairs(lists_of(sk)) do
    redis.call('HINCRBY', counts, list .. ':' .. fromStatus .. ':' .. fromLang, -1)
    redis.call('HINCRBY', counts, list .. ':' .. toStatus .. ':' .. toLang, 1)
  end
end
