// Lua run inside Redis, so that each update is atomic across sidecar processes and a batch read is one
// round trip. Per lead: `lead:<id>` holds the encoded profile (a string: it is longer than a compact hash
// value may be), `state:<id>` a small hash: a = matched account id, md/mv = marketing row date/values,
// t<i> = total of event type i, l<i> = its latest occurredAt (ms), d<i>:<utcDay> = its count on that day.

/**
 * KEYS: dedup key, state hash, profile key. ARGV: type index, occurredAt ms, dedup TTL ms, window days.
 * The same fold as `EventAggregates.apply`: count, max lastAt, day bucket, and drop buckets at or before
 * newest day - window (a late event older than that is counted in the total only, as apply's prune does).
 * Returns 0 for a duplicate, 1 when applied to a known lead, 2 when applied to a lead without a profile.
 */
export const APPLY_EVENT_LUA = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end
local DAY = 86400000
local ti = ARGV[1]
local ms = tonumber(ARGV[2])
local window = tonumber(ARGV[4])
local lastField = 'l' .. ti
local last = tonumber(redis.call('HGET', KEYS[2], lastField))
redis.call('HINCRBY', KEYS[2], 't' .. ti, 1)
local oldNewest = nil
if last then oldNewest = math.floor(last / DAY) end
if (not last) or ms > last then
  redis.call('HSET', KEYS[2], lastField, ARGV[2])
  last = ms
end
local newest = math.floor(last / DAY)
local day = math.floor(ms / DAY)
if day > newest - window then
  redis.call('HINCRBY', KEYS[2], 'd' .. ti .. ':' .. string.format('%d', day), 1)
end
if oldNewest and newest > oldNewest then
  for d = oldNewest - window + 1, math.min(newest - window, oldNewest) do
    redis.call('HDEL', KEYS[2], 'd' .. ti .. ':' .. string.format('%d', d))
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then return 1 end
return 2
`;

/** KEYS: hash. ARGV: date field, value field, extract date, value. Newest date wins; the same date replaces. */
export const PUT_NEWEST_ROW_LUA = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and current > ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3], ARGV[2], ARGV[4])
return 1
`;

/**
 * ARGV: key prefix, then lead ids. Per lead: {} when it has no profile, else
 * {profile, all state hash fields, {erp account number, date, values} or {}}; last, the context rows' version
 * ('' when none were written), so a reader reloads its context table only when it changed.
 * Keys are derived inside the script (lead -> account link -> ERP row), so it reads undeclared keys: fine on a
 * standalone or replicated Redis, and on a cluster only because every key of a region shares the {region}
 * hash tag and so one slot.
 */
export const READ_STATES_LUA = `
local prefix = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local profile = redis.call('GET', prefix .. 'lead:' .. ARGV[i])
  if not profile then
    out[i - 1] = {}
  else
    local key = prefix .. 'state:' .. ARGV[i]
    local erp = {}
    local account = redis.call('HGET', key, 'a')
    if account then
      local number = redis.call('GET', prefix .. 'acct:' .. account)
      if number then
        local row = redis.call('HMGET', prefix .. 'erp:' .. number, 'd', 'v')
        if row[1] then erp = {number, row[1], row[2]} end
      end
    end
    out[i - 1] = {profile, redis.call('HGETALL', key), erp}
  end
end
out[#ARGV] = redis.call('GET', prefix .. 'ctxv') or ''
return out
`;
