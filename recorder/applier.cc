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
local i = 6
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'D' then
    local key = dp .. ARGV[i + 1]
    local cnt = tonumber(ARGV[i + 3])
    local args = {key, 's', ARGV[i + 2]}
    for j = 1, 2 * cnt do args[#args + 1] = ARGV[i + 3 + j] end
    redis.call('HSET', unpack(args))
    -- A delivery's attempts come in order (one partition), each finished after the one
    -- before: the expiry of a later flush is never earlier.
    redis.call('PEXPIREAT', key, ARGV[i + 4 + 2 * cnt])
    i = i + 5 + 2 * cnt
  elseif op == 'Z' then
    local cnt = tonumber(ARGV[i + 2])
    local args = {ARGV[i + 1], 'GT'}
    for j = 1, 2 * cnt do args[#args + 1] = ARGV[i + 2 + j] end
    redis.call('ZADD', unpack(args))
    i = i + 3 + 2 * cnt
  elseif op == 'S' then
    -- One statistics hash: read every field it touches at once, write them back at once.
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
    local cur = redis.call('HMGET', key, unpack(f))
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
    redis.call('HSET', key, unpack(out))
    redis.call('PEXPIREAT', key, ARGV[i + 2])
    i = e0 + 3 * ne
  elseif op == 'T' then
    local key = ARGV[i + 1]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[i + 2])
    local max = tonumber(ARGV[i + 3])
    if max >= 0 then
      local c = redis.call('ZCARD', key)
      if c > max then
        local ids = redis.call('ZRANGE', key, 0, c - max - 1)
        for _, id in ipairs(ids) do redis.call('UNLINK', dp .. id) end
        redis.call('ZREMRANGEBYRANK', key, 0, c - max - 1)
      end
    end
    i = i + 4
  else
    return redis.error_reply('hookpipe recorder: bad op ' .. tostring(op) .. ' at ' .. i)
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
)lua";

constexpr std::size_t kUnlinkBatch = 500;

}  // namespace

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
    return fail("redis: recorder apply on partition " + std::to_string(partition) + ": " +
                    (text.empty() ? std::string("unexpected reply") : std::string(text)),
                true);
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
