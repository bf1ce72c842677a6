#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace re2 {
class RE2;
}

namespace hookpipe::filter {

// Bounds on what a subscription's filter may cost; compileFilter rejects anything larger.
inline constexpr std::size_t kMaxFilterBytes = 16 * 1024;
inline constexpr int kMaxDepth = 8;                 // nesting of objects/arrays in the filter
inline constexpr std::size_t kMaxConditions = 128;  // leaf predicates in total
inline constexpr std::size_t kMaxListValues = 256;  // values of one $in / $nin / one-of list
inline constexpr std::size_t kMaxPathSegments = 16;
inline constexpr std::size_t kMaxPathBytes = 256;
inline constexpr std::size_t kMaxRegexBytes = 1024;

// A scalar from the filter text (objects and arrays are never compared).
struct Scalar {
  enum class Kind { kNull, kBool, kNumber, kString };
  Kind kind = Kind::kNull;
  bool boolean = false;
  bool is_int = false;  // `integer` is exact; `number` always holds the value
  int64_t integer = 0;
  double number = 0;
  std::string string;
};

// One compiled filter: immutable, shared by every thread that evaluates it.
//
// Semantics (the language is DESIGN.md's; the choices below are ours, MongoDB-like):
// - The top-level object is an AND of its keys. A key is a dotted path into the event
//   ("data.customer.tier"; a numeric segment indexes an array, "data.items.0.sku") or
//   one of $and / $or (an array of filters) / $not (a filter).
// - A path's value is a scalar (equality), a list (one of), or an object of operators
//   ($eq $ne $in $nin $gt $gte $lt $lte $exists $regex $not), all of which must hold.
// - Equality is by JSON type and value: 1 == 1.0, "1" != 1, true != 1, null == null.
// - $gt/$gte/$lt/$lte compare number with number and string with string (bytewise);
//   any other pairing is false, never an error.
// - $regex is an RE2 pattern, unanchored (use ^ and $), applied to strings only.
// - When the event's value is an array, a positive operator holds if it holds for any
//   element ("tags": "vip" matches "tags": ["new", "vip"]).
// - A missing path makes every operator false except $exists:false, $ne, $nin and $not
//   over it, which are true. A JSON null is present ($exists:true).
class Filter {
 public:
  struct Node;
  explicit Filter(std::unique_ptr<Node> root, std::size_t conditions);
  ~Filter();
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  // Evaluates against an event parsed once by the caller.
  bool matches(simdjson::dom::element event) const;
  std::size_t conditions() const { return conditions_; }

 private:
  std::unique_ptr<Node> root_;
  std::size_t conditions_;
};

// Compiles a filter (regexes included) once. On failure the message lists every problem,
// each naming the offending path, e.g. "data.amount.$gte: needs a number or a string".
Result<std::shared_ptr<const Filter>> compileFilter(std::string_view json);

}  // namespace hookpipe::filter
