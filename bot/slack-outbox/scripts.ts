/*
 * The outbox's Lua scripts. Each runs atomically in Redis, so every bot
 * replica sees one truth: which lane goes next in a channel, when the channel
 * may post again, how much chat.update budget is left. Time is Redis `TIME`,
 * one clock for all replicas. Key layout: lib/slack-outbox.ts. Keys are built
 * from `base` inside the scripts (as the incident store's scripts do), so this
 * needs a single Redis node, not a cluster.
 */

import { SEEN_MESSAGE_TTL_S } from '../../lib/slack-outbox';

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/*
 * An incident's Slack state changed (dirty) and/or it has a reply to post.
 * The first call for an incident decides how it appears: its own root message,
 * or — past the storm threshold of new incidents per minute in the channel — a
 * line in the channel's current digest message.
 * A reply whose message id was queued before is skipped (`seen:<id>`, kept a day): ioredis
 * re-sends a command that got no reply before a Redis restart, and a retried job
 * passes the same id, so neither may post the reply twice.
 * Returns {channel, generation, mode, rank}.
 */
export const SYNC_INCIDENT_LUA = `${NOW}
local base, id, channel, rank = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local rootTs, wantDirty, op = ARGV[5], ARGV[6] == '1', ARGV[7]
local threshold, size, window = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
if op ~= '' and not redis.call('SET', base .. 'seen:' .. ARGV[11], '1', 'NX', 'EX', ${SEEN_MESSAGE_TTL_S}) then op = '' end
local lane = base .. 'lane:' .. id
redis.call('HSETNX', lane, 'channel', channel)
redis.call('HSETNX', lane, 'kind', 'incident')
redis.call('HSET', lane, 'prio', rank)
local ch = redis.call('HGET', lane, 'channel')
local chBase = base .. 'ch:' .. ch .. ':'
local ready = chBase .. 'ready'
local function markDirty(key)
  if redis.call('HGET', key, 'dirty') ~= '1' then redis.call('HSET', key, 'dirty', '1', 'dirtyAt', now) end
end
local joined = false
local mode = redis.call('HGET', lane, 'mode')
if not mode then
  if rootTs ~= '' then
    mode = 'root'
    redis.call('HSET', lane, 'mode', 'root', 'root', 'done', 'ts', rootTs)
  else
    local arrivals = chBase .. 'arrivals'
    redis.call('ZREMRANGEBYSCORE', arrivals, '-inf', now - 60000)
    redis.call('ZADD', arrivals, 'NX', now, id)
    redis.call('PEXPIRE', arrivals, 120000)
    if redis.call('ZCARD', arrivals) > threshold then mode = 'digest' else mode = 'root' end
    if mode == 'root' then
      redis.call('HSET', lane, 'mode', 'root', 'root', 'pending', 'rootAt', now)
    else
      local cur = redis.call('GET', chBase .. 'digest')
      local fits = false
      if cur then
        local d = redis.call('HMGET', base .. 'lane:' .. cur, 'n', 'joinAt')
        fits = d[1] and tonumber(d[1]) < size and (now - tonumber(d[2] or '0')) < window
      end
      if not fits then
        cur = 'dg-' .. ch .. '-' .. redis.call('INCR', chBase .. 'digest-seq')
        redis.call('SET', chBase .. 'digest', cur)
        redis.call('HSET', base .. 'lane:' .. cur, 'kind', 'digest', 'channel', ch, 'mode', 'root', 'root', 'pending', 'rootAt', now, 'prio', rank, 'n', 0)
      end
      local dk = base .. 'lane:' .. cur
      redis.call('HINCRBY', dk, 'n', 1)
      redis.call('HSET', dk, 'joinAt', now)
      redis.call('ZADD', dk .. ':members', now, id)
      redis.call('HSET', lane, 'mode', 'digest', 'digest', cur)
      joined = true
    end
  end
end
local pumpRank = rank
if mode == 'digest' then
  local cur = redis.call('HGET', lane, 'digest')
  local dk = base .. 'lane:' .. cur
  -- Dirty even while the post is pending: a post already picked may have rendered the old state.
  if wantDirty or joined then markDirty(dk) end
  local drank = tonumber(redis.call('HGET', dk, 'prio') or rank)
  if rank < drank then redis.call('HSET', dk, 'prio', rank); drank = rank end
  if redis.call('HGET', dk, 'root') == 'pending' or redis.call('HGET', dk, 'dirty') == '1' or op ~= '' then
    redis.call('ZADD', ready, 'LT', drank * 1e13 + now, cur)
    if drank < pumpRank then pumpRank = drank end
  end
elseif wantDirty and redis.call('HGET', lane, 'root') ~= 'failed' then
  -- Marked even while the root is pending: picking the root clears it before rendering,
  -- so a change that lands after the render leaves it set and gets its edit.
  markDirty(lane)
end
if op ~= '' then
  -- A digest's incident replies in the digest's thread: its lane keeps them in order.
  local target = lane
  if mode == 'digest' then target = base .. 'lane:' .. redis.call('HGET', lane, 'digest') end
  redis.call('RPUSH', target .. ':ops', op)
end
if redis.call('HGET', lane, 'root') == 'pending' or redis.call('HGET', lane, 'dirty') == '1' or redis.call('LLEN', lane .. ':ops') > 0 then
  redis.call('ZADD', ready, 'LT', rank * 1e13 + now, id)
end
redis.call('SADD', base .. 'channels', ch)
return {ch, redis.call('GET', chBase .. 'gen') or '0', mode, pumpRank}
`;

/*
 * Picks the next write of a channel and takes its rate-limit slot in the same
 * step: the first lane (P1 first, then oldest) with a write that may go now.
 * chat.postMessage (root, reply, digest) needs the channel's pace slot;
 * chat.update needs a token of the workspace-wide Tier 3 bucket and the
 * message's edit window to have passed (that is what coalesces edits). The lane
 * is leased while its write is in flight, so a lane's writes never overlap.
 * A root post is claimed here, before it is sent; a claim left by an earlier
 * attempt comes back as `prevClaim` (the caller checks Slack before posting).
 * Returns {'empty'} (the pump generation moves on), {'wait', ms}, or
 * {'op', lane, kind, mode, op, messages (JSON array of queued replies), thread, since, prevClaim, digest}.
 */
export const PICK_LUA = `${NOW}
local base, ch = ARGV[1], ARGV[2]
local postInterval, perMin, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local editInterval, scan, lease, owner, batch = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local chBase = base .. 'ch:' .. ch .. ':'
local ready = chBase .. 'ready'
local lanes = redis.call('ZRANGE', ready, 0, scan - 1)
if #lanes == 0 then
  redis.call('INCR', chBase .. 'gen')
  return {'empty'}
end
local paceKey = chBase .. 'pace'
local postWait = math.max(0, tonumber(redis.call('GET', paceKey) or '0') - now)
local bucketKey = base .. 'rl:chat.update'
local b = redis.call('HMGET', bucketKey, 'tokens', 'at', 'hold')
local tokens = math.min(burst, tonumber(b[1] or burst) + math.max(0, now - tonumber(b[2] or now)) * perMin / 60000)
local hold = tonumber(b[3] or '0')
local updWait = 0
if hold > now then updWait = hold - now elseif tokens < 1 then updWait = math.ceil((1 - tokens) * 60000 / perMin) end
local wait = nil
local function later(ms) if wait == nil or ms < wait then wait = ms end end
for _, laneId in ipairs(lanes) do
  local lk = base .. 'lane:' .. laneId
  local h = redis.call('HMGET', lk, 'kind', 'mode', 'root', 'dirty', 'updAt', 'retryAt', 'busy', 'digest', 'ts', 'claim', 'dirtyAt', 'rootAt')
  local nops = redis.call('LLEN', lk .. ':ops')
  local rootPending, dirty = h[3] == 'pending', h[4] == '1'
  local busy, retryAt = tonumber(h[7] or '0'), tonumber(h[6] or '0')
  if busy > now then later(busy - now)
  elseif not rootPending and not dirty and nops == 0 then redis.call('ZREM', ready, laneId)
  elseif retryAt > now then later(retryAt - now)
  else
    local post, thread = nil, h[9]
    -- An incident's writes keep their order: the edit goes once the replies queued
    -- before it are out, so a reply describing a change is never behind the edit showing it.
    -- A digest's edits are its own business and never wait for its thread.
    local upd = dirty and not rootPending and (nops == 0 or h[1] == 'digest')
    if rootPending then post = 'root'
    elseif nops > 0 then
      if h[2] == 'digest' then
        thread = redis.call('HGET', base .. 'lane:' .. h[8], 'ts')
        if thread then post = 'reply' else later(postInterval) end
      else post = 'reply' end
    end
    local updReadyAt = 0
    if upd then updReadyAt = tonumber(h[5] or '0') + editInterval end
    local chosen = nil
    if post and postWait == 0 then chosen = post
    elseif upd and updReadyAt <= now and updWait == 0 then chosen = 'update' end
    if chosen then
      redis.call('HSET', lk, 'busy', now + lease)
      local since, prevClaim, op = '', '', ''
      if chosen == 'update' then
        redis.call('HSET', bucketKey, 'tokens', tokens - 1, 'at', now)
        since = h[11] or ''
        redis.call('HSET', lk, 'dirty', '0', 'updAt', now)
        redis.call('HDEL', lk, 'dirtyAt')
      else
        redis.call('SET', paceKey, now + postInterval, 'PX', postInterval + 60000)
        if chosen == 'root' then
          -- The root is rendered at send time, so it shows the latest state: nothing left to edit.
          if dirty then redis.call('HSET', lk, 'dirty', '0'); redis.call('HDEL', lk, 'dirtyAt') end
          prevClaim = h[10] or ''
          if prevClaim == '' then redis.call('HSET', lk, 'claim', owner .. '@' .. now) end
          since = h[12] or ''
        elseif h[1] == 'digest' then
          -- A digest thread takes the replies of many incidents: several go out in one post.
          op = cjson.encode(redis.call('LRANGE', lk .. ':ops', 0, batch - 1))
        else
          op = cjson.encode({redis.call('LINDEX', lk .. ':ops', 0)})
        end
      end
      return {'op', laneId, h[1] or 'plain', h[2] or '', chosen, op, thread or '', since, prevClaim, h[8] or ''}
    end
    if upd then later(math.max(updReadyAt - now, updWait)) end
    if post then later(postWait) end
  end
end
if wait == nil then
  if redis.call('ZCARD', ready) == 0 then
    redis.call('INCR', chBase .. 'gen')
    return {'empty'}
  end
  wait = postInterval
end
return {'wait', wait}
`;

/*
 * Records the outcome of a write picked by PICK_LUA and frees the lane.
 * ok: the write is done (a reply leaves the list, a root records its ts).
 * ratelimited: Slack said 429; the channel (post) or the workspace's update
 *   budget (update) holds for Retry-After, and the write stays first in line.
 * retry: a transient failure; the lane backs off (doubling, capped). A root
 *   whose outcome is unknown keeps its claim, so the next attempt checks Slack.
 * drop: Slack refused the write for good (e.g. channel_not_found); logged by the caller.
 */
export const COMMIT_LUA = `${NOW}
local base, ch, laneId, opName, result = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local first, ts, retryAfter = ARGV[6], ARGV[7], tonumber(ARGV[8])
local backoffBase, backoffMax, keepClaim, count = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11] == '1', tonumber(ARGV[12])
local lk = base .. 'lane:' .. laneId
local chBase = base .. 'ch:' .. ch .. ':'
-- Removes the replies that were sent, if they are still first in line (a duplicate pump may have sent them).
local function popIfHead()
  if first ~= '' and count > 0 and redis.call('LINDEX', lk .. ':ops', 0) == first then redis.call('LTRIM', lk .. ':ops', count, -1) end
end
local function restoreDirty()
  if redis.call('HGET', lk, 'dirty') ~= '1' then redis.call('HSET', lk, 'dirty', '1', 'dirtyAt', now) end
end
local moveBack = true
if result == 'ok' then
  if opName == 'root' then
    redis.call('HSET', lk, 'root', 'done', 'ts', ts)
    redis.call('HDEL', lk, 'claim')
  elseif opName == 'reply' then popIfHead() end
  redis.call('HDEL', lk, 'attempts', 'retryAt')
elseif result == 'ratelimited' then
  if opName == 'update' then
    redis.call('HSET', base .. 'rl:chat.update', 'hold', now + retryAfter)
    restoreDirty()
  else
    local paceKey = chBase .. 'pace'
    if now + retryAfter > tonumber(redis.call('GET', paceKey) or '0') then
      redis.call('SET', paceKey, now + retryAfter, 'PX', retryAfter + 60000)
    end
    if opName == 'root' then redis.call('HDEL', lk, 'claim') end
  end
  moveBack = false
elseif result == 'retry' then
  local n = redis.call('HINCRBY', lk, 'attempts', 1)
  redis.call('HSET', lk, 'retryAt', now + math.min(backoffMax, backoffBase * 2 ^ (n - 1)))
  if opName == 'update' then restoreDirty() end
  if opName == 'root' and not keepClaim then redis.call('HDEL', lk, 'claim') end
else
  if opName == 'reply' then popIfHead()
  elseif opName == 'root' then
    redis.call('HSET', lk, 'root', 'failed')
    redis.call('HDEL', lk, 'claim')
  end
  redis.call('HDEL', lk, 'attempts', 'retryAt')
end
redis.call('HDEL', lk, 'busy')
local ready = chBase .. 'ready'
if redis.call('HGET', lk, 'root') == 'pending' or redis.call('HGET', lk, 'dirty') == '1' or redis.call('LLEN', lk .. ':ops') > 0 then
  if moveBack then
    -- Round robin within a priority: this lane goes behind the others of its rank.
    redis.call('ZADD', ready, tonumber(redis.call('HGET', lk, 'prio') or '3') * 1e13 + now, laneId)
  else
    redis.call('ZADD', ready, 'NX', tonumber(redis.call('HGET', lk, 'prio') or '3') * 1e13 + now, laneId)
  end
else
  redis.call('ZREM', ready, laneId)
end
return 1
`;

/* Pending writes (replies, root posts, edits) and lanes with work, over every channel. */
export const DEPTH_LUA = `
local base = ARGV[1]
local total, lanes = 0, 0
for _, ch in ipairs(redis.call('SMEMBERS', base .. 'channels')) do
  for _, laneId in ipairs(redis.call('ZRANGE', base .. 'ch:' .. ch .. ':ready', 0, -1)) do
    lanes = lanes + 1
    local lk = base .. 'lane:' .. laneId
    local h = redis.call('HMGET', lk, 'root', 'dirty')
    total = total + redis.call('LLEN', lk .. ':ops')
    if h[1] == 'pending' then total = total + 1 elseif h[2] == '1' then total = total + 1 end
  end
end
return {total, lanes}
`;

/* Channels with work, their pump generation and best waiting rank: for the sweep that restarts lost pumps. */
export const CHANNELS_WITH_WORK_LUA = `
local base = ARGV[1]
local out = {}
for _, ch in ipairs(redis.call('SMEMBERS', base .. 'channels')) do
  local first = redis.call('ZRANGE', base .. 'ch:' .. ch .. ':ready', 0, 0, 'WITHSCORES')
  if #first > 0 then
    table.insert(out, ch)
    table.insert(out, redis.call('GET', base .. 'ch:' .. ch .. ':gen') or '0')
    table.insert(out, math.floor(tonumber(first[2]) / 1e13))
  end
end
return out
`;
