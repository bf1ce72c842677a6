#include "recorder/applier.h"

#include <vector>

namespace hookpipe::recorder {
namespace {

// KEYS[1] the offset key; ARGV: expected offset ("" = absent), next offset, the delivery
// key prefix, the event-type cap, the "(other)" name, then the flush's ops (aggregator.h).
// Kept simple on purpose: every decision is made in C++, the script only checks and writes.
constexpr const char* kScript = R"lua(
local cur = redis.call('GET', KEYS[1])
if not cur then cur = '' end
if cur ~= ARGV[1] then return 0 end
local dp = ARGV[3]
local cap = tonumber(ARGV[4])
local other = ARGV[5]
local n = #ARGV
-- Lua's unpack() puts every value on the C stack (about 8000 slots): no call takes more
-- than this many arguments from a list; longer lists are written in several calls.
local CHUNK = 1000
local function num(j)
  local v = ARGV[j] and tonumber(ARGV[j])
  if not v or v < 0 or v ~= math.floor(v) then
    error('hookpipe recorder: bad count ' .. tostring(ARGV[j]) .. ' at ' .. j, 0)
  end
  return v
end
-- Pass 1, no writes: every op is well formed and ends inside ARGV, so a malformed flush is
-- refused before anything of it is written.
local i = 6
while i <= n do
  local op = ARGV[i]
  if op == 'D' then i = i + 5 + 2 * num(i + 3)
  elseif op == 'Z' then i = i + 3 + 2 * num(i + 2)
  elseif op == 'S' then
    local l0 = i + 4 + 2 * num(i + 3)
    i = l0 + 3 + 3 * num(l0 + 2)
  elseif op == 'T' then i = i + 5
  else
    return redis.error_reply('hookpipe recorder: bad op ' .. tostring(op) .. ' at ' .. i)
  end
  if i > n + 1 then return redis.error_reply('hookpipe recorder: op truncated at ' .. i) end
end
local wrote = false
-- cmd(key, <list>): one call per CHUNK values of the list (pairs stay together).
local function chunked(cmd, key, head, list)
  local k = 1
  repeat
    local args = {key}
    for _, h in ipairs(head) do args[#args + 1] = h end
    for j = k, math.min(#list, k + CHUNK - 1) do args[#args + 1] = list[j] end
    k = k + CHUNK
    redis.call(cmd, unpack(args))
    wrote = true  -- after the call: a command that fails writes nothing
  until k > #list
end
local function hmget(key, fields)
  local out = {}
  for k = 1, #fields, CHUNK do
    local part = {}
    for j = k, math.min(#fields, k + CHUNK - 1) do part[#part + 1] = fields[j] end
    local got = redis.call('HMGET', key, unpack(part))
    for j = 1, #part do out[k + j - 1] = got[j] end
  end
  return out
end
local function apply()
  i = 6
  while i <= n do
    local op = ARGV[i]
    if op == 'D' then
      local key = dp .. ARGV[i + 1]
      local cnt = tonumber(ARGV[i + 3])
      local list = {'s', ARGV[i + 2]}
      for j = 1, 2 * cnt do list[#list + 1] = ARGV[i + 3 + j] end
      chunked('HSET', key, {}, list)
      -- A delivery's attempts come in order (one partition), each finished after the one
      -- before: the expiry of a later flush is never earlier.
      redis.call('PEXPIREAT', key, ARGV[i + 4 + 2 * cnt])
      i = i + 5 + 2 * cnt
    elseif op == 'Z' then
      local cnt = tonumber(ARGV[i + 2])
      local list = {}
      for j = 1, 2 * cnt do list[#list + 1] = ARGV[i + 2 + j] end
      if cnt > 0 then chunked('ZADD', ARGV[i + 1], {'GT'}, list) end
      i = i + 3 + 2 * cnt
    elseif op == 'S' then
      -- One statistics hash: read every field it touches, write them back.
      local key = ARGV[i + 1]
      local nc = tonumber(ARGV[i + 3])
      local c0 = i + 4
      local l0 = c0 + 2 * nc
      local lo, hi = ARGV[l0], ARGV[l0 + 1]
      local ne = tonumber(ARGV[l0 + 2])
      local e0 = l0 + 3
      local f = {'lmin', 'lmax', 'tn', 't:' .. other, 'td:' .. other}
      for j = 0, nc - 1 do f[#f + 1] = ARGV[c0 + 2 * j] end
      for j = 0, ne - 1 do
        f[#f + 1] = 't:' .. ARGV[e0 + 3 * j]
        f[#f + 1] = 'td:' .. ARGV[e0 + 3 * j]
      end
      local cur = hmget(key, f)
      local out = {}
      local function put(name, v)
        out[#out + 1] = name
        out[#out + 1] = string.format('%d', v)
      end
      for j = 0, nc - 1 do
        put(f[6 + j], (tonumber(cur[6 + j]) or 0) + tonumber(ARGV[c0 + 2 * j + 1]))
      end
      if lo ~= '' then
        if not cur[1] or tonumber(cur[1]) > tonumber(lo) then put('lmin', tonumber(lo)) end
        if not cur[2] or tonumber(cur[2]) < tonumber(hi) then put('lmax', tonumber(hi)) end
      end
      local tn = tonumber(cur[3]) or 0
      local tn0 = tn
      local oa, od = 0, 0
      for j = 0, ne - 1 do
        local t = ARGV[e0 + 3 * j]
        local a, d = tonumber(ARGV[e0 + 3 * j + 1]), tonumber(ARGV[e0 + 3 * j + 2])
        local at = 6 + nc + 2 * j
        if t ~= other and (cur[at] or tn < cap) then
          if not cur[at] then tn = tn + 1 end
          put('t:' .. t, (tonumber(cur[at]) or 0) + a)
          if d > 0 then put('td:' .. t, (tonumber(cur[at + 1]) or 0) + d) end
        else
          oa = oa + a
          od = od + d
        end
      end
      if oa > 0 then put('t:' .. other, (tonumber(cur[4]) or 0) + oa) end
      if od > 0 then put('td:' .. other, (tonumber(cur[5]) or 0) + od) end
      if tn ~= tn0 then put('tn', tn) end
      if #out > 0 then chunked('HSET', key, {}, out) end
      redis.call('PEXPIREAT', key, ARGV[i + 2])
      i = e0 + 3 * ne
    elseif op == 'T' then
      local key = ARGV[i + 1]
      redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[i + 2])
      wrote = true
      local max = tonumber(ARGV[i + 3])
      if max >= 0 then
        local c = redis.call('ZCARD', key)
        if c > max then
          local ids = redis.call('ZRANGE', key, 0, c - max - 1)
          for _, id in ipairs(ids) do redis.call('UNLINK', dp .. id) end
          redis.call('ZREMRANGEBYRANK', key, 0, c - max - 1)
        end
      end
      -- The set lives as long as its newest member: a subscription that gets no more
      -- attempts does not keep its log forever.
      local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      if top[2] then
        redis.call('PEXPIREAT', key, string.format('%d', tonumber(top[2]) + tonumber(ARGV[i + 4])))
      end
      i = i + 5
    end
  end
end
local ok, err = pcall(apply)
if not ok then
  local text = type(err) == 'table' and (err.err or 'error') or tostring(err)
  if not wrote then return redis.error_reply('HOOKPIPE_NOWRITE ' .. text) end
  -- Part of the flush is written and Redis does not roll a script back: applying it again
  -- would count that part twice. Fence the partition (a recorder that reads this waits;
  -- `hookpipe recorder --rebuild` recovers) together with what was written.
  redis.pcall('SET', KEYS[1], 'failed:' .. ARGV[1])
  return redis.error_reply('HOOKPIPE_PARTIAL ' .. text)
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
)lua";

constexpr std::size_t kUnlinkBatch = 500;

}  // namespace

bool retryableApplyError(std::string_view text) {
  if (text.empty()) return true;  // no answer we understand: nothing known to be written
  // The script failed before its first write: retryable if what failed was Redis refusing
  // a command for now (its first write while out of memory), not for an error that a
  // repeat meets again (WRONGTYPE).
  constexpr std::string_view kNoWrite = "HOOKPIPE_NOWRITE ";
  if (text.starts_with(kNoWrite)) text.remove_prefix(kNoWrite.size());
  // Redis's own refusals (nothing written).
  for (std::string_view code : {"BUSY", "LOADING", "OOM", "READONLY", "MASTERDOWN", "TRYAGAIN",
                                "NOREPLICAS", "CLUSTERDOWN"})
    if (text.starts_with(code)) return true;
  return false;  // the script failed: HOOKPIPE_PARTIAL (fenced), or an error not ours
}

const std::string& Applier::script() {
  static const std::string s = kScript;
  return s;
}

Result<std::optional<std::string>> Applier::readOffset(int32_t partition) {
  auto r = client_.pipeline({{"GET", keys_.offset(partition)}});
  if (!r) return std::unexpected(r.error());
  const redisReply* reply = (*r)[0].get();
  if (reply->type == REDIS_REPLY_NIL) return std::optional<std::string>();
  if (reply->type == REDIS_REPLY_STRING)
    return std::optional<std::string>(std::string(reply->str, reply->len));
  return fail(std::string("redis: GET ") + keys_.offset(partition) + ": " +
                  (reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply"),
              true);
}

Result<bool> Applier::apply(int32_t partition, std::string_view expected, std::string_view next,
                            const Ops& ops) {
  const std::string offset_key = keys_.offset(partition);
  const std::string delivery_prefix = keys_.delivery("");
  const std::string cap = std::to_string(attempts::kMaxEventTypesPerBucket);
  for (int round = 0; round < 2; ++round) {
    if (sha_.empty()) {
      auto loaded = client_.pipeline({{"SCRIPT", "LOAD", script()}});
      if (!loaded) return std::unexpected(loaded.error());
      if ((*loaded)[0]->type == REDIS_REPLY_STRING) sha_ = (*loaded)[0]->str;
    }
    // EVALSHA while the script is loaded; EVAL (which loads it too) when it is not.
    const bool by_sha = !sha_.empty() && round == 0;
    std::vector<std::string_view> argv;
    argv.reserve(ops.size() + 9);
    argv.push_back(by_sha ? "EVALSHA" : "EVAL");
    argv.push_back(by_sha ? std::string_view(sha_) : std::string_view(script()));
    argv.push_back("1");
    argv.push_back(offset_key);
    argv.push_back(expected);
    argv.push_back(next);
    argv.push_back(delivery_prefix);
    argv.push_back(cap);
    argv.push_back(attempts::kOtherEventTypes);
    argv.insert(argv.end(), ops.args().begin(), ops.args().end());
    auto r = client_.pipelineViews({argv});
    if (!r) return std::unexpected(r.error());
    const redisReply* reply = (*r)[0].get();
    if (reply->type == REDIS_REPLY_INTEGER) return reply->integer == 1;
    const std::string_view text =
        reply->type == REDIS_REPLY_ERROR ? std::string_view(reply->str, reply->len) : "";
    if (by_sha && text.starts_with("NOSCRIPT")) {
      sha_.clear();  // Redis restarted or SCRIPT FLUSH: EVAL now, load again next time
      continue;
    }
    // An error of the script itself is not cured by repeating it: not retryable. Redis
    // refusing to run it, or a command of it, for now (BUSY, LOADING, OOM, READONLY, ...)
    // before anything was written: retryable (retryableApplyError).
    return fail("redis: recorder apply on partition " + std::to_string(partition) + ": " +
                    (text.empty() ? std::string("unexpected reply") : std::string(text)),
                retryableApplyError(text));
  }
  return fail("redis: recorder apply: script not loaded", true);
}

Result<void> Applier::setOffsets(const std::map<int32_t, std::string>& values) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& [p, v] : values) commands.push_back({"SET", keys_.offset(p), v});
  if (commands.empty()) return {};
  auto r = client_.pipeline(commands);
  if (!r) return std::unexpected(r.error());
  for (const auto& reply : *r)
    if (reply->type == REDIS_REPLY_ERROR)
      return fail(std::string("redis: SET: ") + reply->str, true);
  return {};
}

Result<uint64_t> Applier::wipeExceptOffsets() {
  const std::string offsets = keys_.offset(0).substr(0, keys_.offset(0).size() - 1);  // "...off:"
  std::string cursor = "0";
  uint64_t removed = 0;
  do {
    auto r = client_.pipeline({{"SCAN", cursor, "MATCH", keys_.pattern(), "COUNT", "1000"}});
    if (!r) return std::unexpected(r.error());
    const redisReply* reply = (*r)[0].get();
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
      return fail("redis: SCAN: unexpected reply", true);
    cursor.assign(reply->element[0]->str, reply->element[0]->len);
    std::vector<std::vector<std::string>> unlinks;
    std::vector<std::string> batch = {"UNLINK"};
    const redisReply* keys = reply->element[1];
    for (std::size_t i = 0; i < keys->elements; ++i) {
      std::string key(keys->element[i]->str, keys->element[i]->len);
      if (key.starts_with(offsets)) continue;
      batch.push_back(std::move(key));
      if (batch.size() > kUnlinkBatch) {
        unlinks.push_back(std::move(batch));
        batch = {"UNLINK"};
      }
    }
    if (batch.size() > 1) unlinks.push_back(std::move(batch));
    if (!unlinks.empty()) {
      auto u = client_.pipeline(unlinks);
      if (!u) return std::unexpected(u.error());
      for (const auto& x : *u)
        if (x->type == REDIS_REPLY_INTEGER) removed += static_cast<uint64_t>(x->integer);
    }
  } while (cursor != "0");
  return removed;
}

}  // namespace hookpipe::recorder
