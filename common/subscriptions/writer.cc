#include "common/subscriptions/writer.h"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>
#include <vector>

#include "common/json/event.h"
#include "common/signing/signer.h"

namespace hookpipe::subscriptions {
namespace {

std::unexpected<Refused> refuse(Refusal reason, std::string message) {
  return std::unexpected(Refused{reason, Error{std::move(message), false, {}}});
}

std::unexpected<Refused> invalid(std::vector<Problem> problems) {
  return std::unexpected(Refused{Refusal::kInvalid, invalidInput(std::move(problems))});
}

std::unexpected<Refused> notFound(const std::string& id) {
  return refuse(Refusal::kNotFound, "no subscription " + id);
}

// RFC 7396 JSON merge patch: objects merge recursively, null removes, anything else
// replaces.
void mergePatch(boost::json::object& target, const boost::json::object& patch) {
  for (const auto& [k, v] : patch) {
    if (v.is_null()) {
      target.erase(k);
    } else if (v.is_object()) {
      auto it = target.find(k);
      if (it == target.end() || !it->value().is_object()) target[k] = boost::json::object();
      mergePatch(target[k].as_object(), v.as_object());
    } else {
      target[k] = v;
    }
  }
}

}  // namespace

Writer::Writer(kafka::Producer& producer, SubscriptionTable& table, std::string topic)
    : producer_(producer), table_(table), topic_(std::move(topic)) {}

void Writer::write(std::shared_ptr<const Subscription> sub, Done done) {
  const std::string pinned = toJson(*sub, true);
  table_.pin(sub->id, pinned);
  auto acked = [this, sub, pinned, done = std::move(done)](std::optional<Error> err) {
    if (err) {
      table_.unpin(sub->id, pinned);
      return done(std::unexpected(std::move(*err)));
    }
    table_.putIfPinned(sub->id, pinned, *sub);
    done(sub);
  };
  auto r = producer_.produce(topic_, sub->id, pinned, {}, acked);
  if (!r) acked(r.error());
}

Writer::Started Writer::create(std::string_view json, Done done) {
  auto sub = checkSubscription(json, SubscriptionSource::kCreate);
  if (!sub) return invalid(std::move(sub.error()));
  if (sub->id.empty()) sub->id = "sub_" + json::newEventId().substr(4);
  {
    std::lock_guard lock(creating_mu_);
    if (table_.find(sub->id) || creating_.contains(sub->id))
      return refuse(Refusal::kConflict,
                    "subscription " + sub->id +
                        " exists (change it with PUT or PATCH, or choose another id)");
    creating_.insert(sub->id);
  }
  if (sub->secret.empty()) sub->secret = signing::generateSecret();
  sub->refreshSigningKeys();
  sub->disabled_reason.clear();  // hookpipe's own, never a client's
  sub->created_at = sub->updated_at = json::formatTimestamp(kafka::nowMs());
  const std::string id = sub->id;
  write(std::make_shared<const Subscription>(std::move(*sub)),
        [this, id, done = std::move(done)](Result<std::shared_ptr<const Subscription>> r) {
          {
            std::lock_guard lock(creating_mu_);
            creating_.erase(id);
          }
          done(std::move(r));
        });
  return {};
}

Writer::Started Writer::update(const std::string& id, std::string_view json, bool merge,
                               Done done) {
  auto current = table_.find(id);
  if (!current) return notFound(id);
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(json, ec);
  if (ec) return invalid({{"", "body is not valid JSON: " + ec.message()}});
  if (!body.is_object()) return invalid({{"", "body must be a JSON object"}});
  std::vector<Problem> problems;
  const auto& patch = body.as_object();
  if (auto it = patch.find("id");
      it != patch.end() && !(it->value().is_string() && it->value().as_string() == id))
    problems.push_back({"/id", "id cannot change (it is " + id + ")"});
  for (const char* field : {"secret", "previous_secret", "previous_secret_expires_ms"})
    if (patch.contains(field))
      problems.push_back({std::string("/") + field,
                          std::string(field) + " cannot be set here: use POST /v1/subscriptions/" +
                              id + "/secret/rotate"});
  // Unknown fields of the body itself: a merge patch's {"active": null} removes nothing
  // from the merged result, and is still not a field.
  for (auto& p : subscriptionFieldProblems(json)) problems.push_back(std::move(p));

  boost::json::object next;
  if (merge) {
    next = boost::json::parse(toJson(*current, true)).as_object();
    mergePatch(next, patch);
  } else {
    next = patch;
  }
  // What the client cannot change through PUT or PATCH.
  next["id"] = current->id;
  next["secret"] = current->secret;
  next["created_at"] = current->created_at;
  next.erase("previous_secret");
  next.erase("previous_secret_expires_ms");
  // The URL as a GET shows it (credentials redacted) keeps the credentials it hides.
  if (auto it = next.find("url");
      it != next.end() && it->value().is_string() && it->value().as_string() == shownUrl(*current))
    it->value() = current->url;
  if (auto fo = next.find("format_options"); fo != next.end() && fo->value().is_object())
    for (auto name : kSecretFormatOptions)
      if (auto it = fo->value().as_object().find(name);
          it != fo->value().as_object().end() && it->value().is_string() &&
          it->value().as_string() == kRedactedUserinfo)
        if (auto kept = current->format_options.find(name); kept != current->format_options.end())
          it->value() = kept->second.text;
  auto sub = checkSubscription(boost::json::serialize(next), SubscriptionSource::kUpdate);
  if (!sub) {
    for (auto& p : sub.error())
      if (std::none_of(problems.begin(), problems.end(),
                       [&](const Problem& q) { return q.pointer == p.pointer; }))
        problems.push_back(std::move(p));
  }
  if (!problems.empty()) return invalid(std::move(problems));
  sub->previous_secret = current->previous_secret;
  sub->previous_secret_expires_ms = current->previous_secret_expires_ms;
  sub->refreshSigningKeys();
  // Only hookpipe sets the reason, and it holds only while the subscription is inactive.
  sub->disabled_reason = sub->is_active ? "" : current->disabled_reason;
  sub->updated_at = json::formatTimestamp(kafka::nowMs());
  write(std::make_shared<const Subscription>(std::move(*sub)), std::move(done));
  return {};
}

Writer::Started Writer::setActive(const std::string& id, bool active, Done done) {
  auto current = table_.find(id);
  if (!current) return notFound(id);
  auto sub = std::make_shared<Subscription>(*current);
  sub->is_active = active;
  if (active) sub->disabled_reason.clear();
  sub->updated_at = json::formatTimestamp(kafka::nowMs());
  write(std::move(sub), std::move(done));
  return {};
}

Writer::Started Writer::rotateSecret(const std::string& id, int64_t grace_ms, Done done) {
  auto current = table_.find(id);
  if (!current) return notFound(id);
  auto sub = std::make_shared<Subscription>(*current);
  const int64_t now = kafka::nowMs();
  if (grace_ms > 0) {
    sub->previous_secret = current->secret;
    sub->previous_secret_expires_ms = now + grace_ms;
  } else {
    sub->previous_secret.clear();
    sub->previous_secret_expires_ms = 0;
  }
  sub->secret = signing::generateSecret();
  sub->refreshSigningKeys();
  sub->updated_at = json::formatTimestamp(now);
  write(std::move(sub), std::move(done));
  return {};
}

Writer::Started Writer::remove(const std::string& id, Removed done) {
  if (!table_.find(id)) return notFound(id);
  table_.pin(id, "");  // a tombstone pins as ""
  auto acked = [this, id, done = std::move(done)](std::optional<Error> err) {
    if (err)
      table_.unpin(id, "");
    else
      table_.erase(id);
    done(std::move(err));
  };
  // A null value is the tombstone that compaction keeps until everyone has seen it.
  auto r = producer_.produce(topic_, id, std::string_view(), {}, acked);
  if (!r) acked(r.error());
  return {};
}

void Writer::disable(const Subscription& sub, std::string_view reason, Done done) {
  auto disabled = std::make_shared<Subscription>(sub);
  disabled->is_active = false;
  disabled->updated_at = json::formatTimestamp(kafka::nowMs());
  disabled->disabled_reason = std::string(reason) + " at " + disabled->updated_at;
  write(std::move(disabled), std::move(done));
}

}  // namespace hookpipe::subscriptions
