-- A pending request lives in the subscriber's hash as `rq:*` fields (see request.lua);
-- dropping them kills its link.
local REQUEST_FIELDS = { 'rq:n', 'rq:at', 'rq:atms', 'rq:exp', 'rq:ip', 'rq:url', 'rq:l', 'rq:lang', 'rq:wv', 'rq:wh', 'rq:src', 'rq:mid', 'rq:sent' }
local function drop_request(sk)
  redis.call('HDEL', sk, unpack(REQUEST_FIELDS))
end
