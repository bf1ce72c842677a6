#include "router/index.h"

#include <algorithm>

#include "common/json/document.h"

namespace hookpipe::router {
namespace {

bool passes(const Subscription& s, EventView& event) {
  if (!s.tenant.empty() && s.tenant != event.tenant()) return false;
  if (!s.filter) return true;
  const simdjson::dom::element* doc = event.document();
  return doc != nullptr && s.filter->matches(*doc);
}

}  // namespace

const simdjson::dom::element* EventView::document() {
  if (state_ == State::kUnparsed) {
    simdjson::dom::element root;
    // parseDocument: numbers beyond int64/uint64/double (which json::EventParser accepts)
    // are read as doubles, so that filters compare what they can.
    state_ = json::parseDocument(parser_, body_, root) == simdjson::SUCCESS && root.is_object()
                 ? State::kParsed
                 : State::kFailed;
    root_ = root;
  }
  return state_ == State::kParsed ? &root_ : nullptr;
}

std::string_view EventView::tenant() {
  if (!tenant_read_) {
    tenant_read_ = true;
    const simdjson::dom::element* doc = document();
    if (doc == nullptr || (*doc)["tenant"].get_string().get(tenant_)) tenant_ = {};
  }
  return tenant_;
}

SubscriptionIndex::SubscriptionIndex(std::shared_ptr<const SubscriptionTable::Map> snapshot)
    : snapshot_(std::move(snapshot)) {
  subscriptions_.reserve(snapshot_->size());
  for (const auto& [id, sub] : *snapshot_) {
    const auto ordinal = static_cast<uint32_t>(subscriptions_.size());
    subscriptions_.push_back({sub.get(), sub->filter.get()});
    Bucket& bucket = sub->tenant.empty() ? untenanted_ : tenants_[sub->tenant];
    for (const auto& pattern : sub->events) {
      Ordinals* list = nullptr;
      if (pattern == "*")
        list = &bucket.all;
      else if (pattern.ends_with(".*"))
        list = &bucket.prefix[pattern.substr(0, pattern.size() - 1)];
      else
        list = &bucket.exact[pattern];
      // Patterns of one subscription arrive together: dedupe against the tail.
      if (list->empty() || list->back() != ordinal) list->push_back(ordinal);
    }
  }
}

void SubscriptionIndex::collect(const Bucket& bucket, std::string_view type, Ordinals& out) const {
  auto append = [&](const Ordinals& list) { out.insert(out.end(), list.begin(), list.end()); };
  append(bucket.all);
  // Heterogeneous lookup arrives with C++20 unordered containers only in g++ 13's
  // library; a small std::string per lookup is cheap next to parsing.
  thread_local std::string key;
  key.assign(type);
  if (auto it = bucket.exact.find(key); it != bucket.exact.end()) append(it->second);
  if (bucket.prefix.empty()) return;
  for (std::size_t dot = type.find('.'); dot != std::string_view::npos;
       dot = type.find('.', dot + 1)) {
    key.assign(type.substr(0, dot + 1));
    if (auto it = bucket.prefix.find(key); it != bucket.prefix.end()) append(it->second);
  }
}

void SubscriptionIndex::match(EventView& event, std::vector<const Subscription*>& out) const {
  thread_local Ordinals candidates;
  candidates.clear();
  collect(untenanted_, event.type(), candidates);
  if (!tenants_.empty()) {
    if (std::string_view tenant = event.tenant(); !tenant.empty()) {
      thread_local std::string key;
      key.assign(tenant);
      if (auto it = tenants_.find(key); it != tenants_.end())
        collect(it->second, event.type(), candidates);
    }
  }
  if (candidates.size() > 1) {
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }
  for (uint32_t ordinal : candidates) {
    const Entry& e = subscriptions_[ordinal];
    if (e.filter == nullptr) {
      out.push_back(e.subscription);
    } else if (const simdjson::dom::element* doc = event.document();
               doc != nullptr && e.filter->matches(*doc)) {
      out.push_back(e.subscription);
    }
  }
}

void matchLinear(const SubscriptionTable::Map& subscriptions, EventView& event,
                 std::vector<const Subscription*>& out) {
  for (const auto& [id, sub] : subscriptions)
    if (sub->matchesType(event.type()) && passes(*sub, event)) out.push_back(sub.get());
}

}  // namespace hookpipe::router
