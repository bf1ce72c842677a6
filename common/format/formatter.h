#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/format/options.h"

namespace hookpipe {
struct Subscription;
namespace json {
struct Event;
}
}  // namespace hookpipe

// The payload formatter seam: what a subscription's deliveries carry as their body. A
// subscription names its format (`format`, default "json"); the router asks that format
// for the body when it makes the delivery record. See README.md.
namespace hookpipe::format {

// The name of the format that posts the event JSON as it is.
inline constexpr std::string_view kJson = "json";

// Makes a delivery's body from its event. Implementations are immutable after
// registration and called on the router's thread (several threads may share one:
// format() must be safe to call concurrently).
class Formatter {
 public:
  virtual ~Formatter() = default;
  // The body to POST. It cannot fail: an event a format cannot render well is rendered
  // some other way (a chat message with the raw JSON, say) — the event was valid.
  virtual std::string format(const json::Event& event, const Subscription& subscription) const = 0;
  // True for the format whose body is the event JSON itself: the router then produces the
  // event's bytes without calling format() (no copy on the hot path).
  virtual bool passesEventThrough() const { return false; }
  // True when the destination URL is itself the credential (a Slack, Teams, Discord or
  // Zapier webhook URL; a Telegram bot token in the path): API answers then show only its
  // scheme and host (common/subscriptions: shownUrl()).
  virtual bool urlIsCredential() const { return false; }
  // The problems of a subscription's `format_options` for this format, each at its JSON
  // pointer ("/format_options/chat_id"); empty when they are fine. Called when a client
  // writes a subscription (a 400 naming each problem); stored records are not checked
  // again, so format() must cope with options a newer rule would refuse. The default
  // takes no options: each one given is a problem.
  virtual std::vector<Problem> validate(const Options& options) const;
  // This format bound to a subscription's options (valid or not: stored records are not
  // validated again), which the subscription then keeps as its formatter; null for a
  // format without options. Called once when a subscription with options is parsed, so
  // format() never looks options up by name per delivery.
  virtual std::shared_ptr<const Formatter> withOptions(const Options& options) const;
};

// The pointer of option `name`: "/format_options/" + its escaped name.
std::string optionPointer(std::string_view name);
// One problem per option not in `known` ("unknown option x for format slack (it takes
// channel, thread_ts, severity_field)").
std::vector<Problem> unknownOptions(const Options& options, std::string_view format,
                                    const std::vector<std::string_view>& known);

// The formats by name. Filled at first use with the built-in formats (builtin.cc: one line
// per format); add() registers more (tests do). Thread-safe.
class Registry {
 public:
  static Registry& global();
  // Replaces a format of the same name.
  void add(std::string name, std::shared_ptr<const Formatter> formatter);
  void remove(std::string_view name);
  // Null when there is no such format.
  std::shared_ptr<const Formatter> find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  Registry();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a subscription keeps: null for a format that passes the event through ("json"),
// else the formatter `name` refers to. `known` is set false for an unknown name (and the
// result is null: such a subscription is delivered the event JSON).
std::shared_ptr<const Formatter> resolve(std::string_view name, bool& known);

}  // namespace hookpipe::format
