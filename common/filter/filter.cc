#include "common/filter/filter.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <compare>
#include <limits>
#include <optional>

#include "common/json/document.h"

namespace hookpipe::filter {

enum class Op { kAnd, kOr, kNot, kEq, kNe, kIn, kNin, kGt, kGte, kLt, kLte, kExists, kRegex };

struct Segment {
  std::string key;
  int64_t index = -1;  // >= 0 when the segment can index an array
};

struct Filter::Node {
  Op op = Op::kAnd;
  std::vector<Segment> path;   // leaves only
  std::vector<Node> children;  // kAnd, kOr, kNot (one child)
  std::vector<Scalar> values;  // kEq/kNe: one; kIn/kNin: the list; comparisons: one
  bool exists = true;          // kExists
  std::unique_ptr<re2::RE2> regex;
};

namespace {

using Node = Filter::Node;
using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::size_t kMaxProblems = 20;

// ---- evaluation -------------------------------------------------------------------

std::optional<element> resolve(element root, const std::vector<Segment>& path) {
  element cur = root;
  for (const auto& seg : path) {
    simdjson::dom::object obj;
    simdjson::dom::array arr;
    if (cur.get_object().get(obj) == simdjson::SUCCESS) {
      if (obj.at_key(seg.key).get(cur)) return std::nullopt;
    } else if (seg.index >= 0 && cur.get_array().get(arr) == simdjson::SUCCESS) {
      if (arr.at(static_cast<std::size_t>(seg.index)).get(cur)) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return cur;
}

bool equals(element v, const Scalar& s) {
  switch (v.type()) {
    case element_type::STRING:
      return s.kind == Scalar::Kind::kString && v.get_string().value_unsafe() == s.string;
    case element_type::INT64: {
      if (s.kind != Scalar::Kind::kNumber) return false;
      const int64_t x = v.get_int64().value_unsafe();
      return s.is_int ? x == s.integer : static_cast<double>(x) == s.number;
    }
    case element_type::UINT64: {
      if (s.kind != Scalar::Kind::kNumber) return false;
      const uint64_t x = v.get_uint64().value_unsafe();
      return s.is_int ? s.integer >= 0 && x == static_cast<uint64_t>(s.integer)
                      : static_cast<double>(x) == s.number;
    }
    case element_type::DOUBLE:
      return s.kind == Scalar::Kind::kNumber && v.get_double().value_unsafe() == s.number;
    case element_type::BOOL:
      return s.kind == Scalar::Kind::kBool && v.get_bool().value_unsafe() == s.boolean;
    case element_type::NULL_VALUE:
      return s.kind == Scalar::Kind::kNull;
    default:
      return false;
  }
}

// Unordered for every pairing but number/number and string/string.
std::partial_ordering order(element v, const Scalar& s) {
  switch (v.type()) {
    case element_type::STRING:
      if (s.kind != Scalar::Kind::kString) return std::partial_ordering::unordered;
      return v.get_string().value_unsafe().compare(s.string) <=> 0;
    case element_type::INT64: {
      if (s.kind != Scalar::Kind::kNumber) return std::partial_ordering::unordered;
      const int64_t x = v.get_int64().value_unsafe();
      return s.is_int ? x <=> s.integer : static_cast<double>(x) <=> s.number;
    }
    case element_type::UINT64: {
      if (s.kind != Scalar::Kind::kNumber) return std::partial_ordering::unordered;
      const uint64_t x = v.get_uint64().value_unsafe();
      if (s.is_int)
        return s.integer < 0 ? std::partial_ordering::greater
                             : x <=> static_cast<uint64_t>(s.integer);
      return static_cast<double>(x) <=> s.number;
    }
    case element_type::DOUBLE:
      if (s.kind != Scalar::Kind::kNumber) return std::partial_ordering::unordered;
      return v.get_double().value_unsafe() <=> s.number;
    default:
      return std::partial_ordering::unordered;
  }
}

bool holdsOnce(const Node& n, element v) {
  switch (n.op) {
    case Op::kEq:
    case Op::kNe:
      return equals(v, n.values[0]);
    case Op::kIn:
    case Op::kNin:
      for (const auto& s : n.values)
        if (equals(v, s)) return true;
      return false;
    case Op::kGt:
      return std::is_gt(order(v, n.values[0]));
    case Op::kGte:
      return std::is_gteq(order(v, n.values[0]));
    case Op::kLt:
      return std::is_lt(order(v, n.values[0]));
    case Op::kLte:
      return std::is_lteq(order(v, n.values[0]));
    case Op::kRegex: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      return re2::RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *n.regex);
    }
    default:
      return false;
  }
}

// A positive operator on an array holds when it holds for any element.
bool holds(const Node& n, element v) {
  simdjson::dom::array arr;
  if (v.get_array().get(arr) == simdjson::SUCCESS) {
    for (element e : arr)
      if (holdsOnce(n, e)) return true;
    return false;
  }
  return holdsOnce(n, v);
}

bool evaluate(const Node& n, element root) {
  switch (n.op) {
    case Op::kAnd:
      for (const auto& c : n.children)
        if (!evaluate(c, root)) return false;
      return true;
    case Op::kOr:
      for (const auto& c : n.children)
        if (evaluate(c, root)) return true;
      return false;
    case Op::kNot:
      return !evaluate(n.children[0], root);
    case Op::kExists:
      return resolve(root, n.path).has_value() == n.exists;
    case Op::kNe:
    case Op::kNin: {
      auto v = resolve(root, n.path);
      return !(v && holds(n, *v));
    }
    default: {
      auto v = resolve(root, n.path);
      return v && holds(n, *v);
    }
  }
}

// ---- compilation ------------------------------------------------------------------

class Compiler {
 public:
  std::vector<std::string> problems;
  std::size_t conditions = 0;

  void problem(std::string_view where, std::string_view what) {
    if (problems.size() < kMaxProblems)
      problems.push_back(where.empty() ? std::string(what)
                                       : std::string(where) + ": " + std::string(what));
  }

  // An object of paths and $and/$or/$not: the AND of its entries.
  Node filterObject(simdjson::dom::object obj, const std::string& where, int depth) {
    Node out;
    out.op = Op::kAnd;
    if (depth > kMaxDepth) {
      problem(where, "nested too deeply (at most " + std::to_string(kMaxDepth) + " levels)");
      return out;
    }
    for (auto [key, value] : obj) {
      const std::string here = where.empty() ? std::string(key) : where + "." + std::string(key);
      if (key == "$and" || key == "$or") {
        simdjson::dom::array list;
        if (value.get_array().get(list) || list.size() == 0) {
          problem(here, "needs a non-empty array of filter objects");
          continue;
        }
        Node group;
        group.op = key == "$and" ? Op::kAnd : Op::kOr;
        std::size_t i = 0;
        for (element item : list) {
          const std::string at = here + "[" + std::to_string(i++) + "]";
          simdjson::dom::object sub;
          if (item.get_object().get(sub))
            problem(at, "must be a filter object");
          else
            group.children.push_back(filterObject(sub, at, depth + 2));
        }
        out.children.push_back(std::move(group));
      } else if (key == "$not") {
        simdjson::dom::object sub;
        if (value.get_object().get(sub) || sub.size() == 0) {
          problem(here, "needs a non-empty filter object");
          continue;
        }
        Node neg;
        neg.op = Op::kNot;
        neg.children.push_back(filterObject(sub, here, depth + 1));
        out.children.push_back(std::move(neg));
      } else if (key.starts_with("$")) {
        problem(here, "unknown operator (expected a path, $and, $or or $not)");
      } else if (auto path = parsePath(key, here)) {
        field(*path, here, value, depth + 1, out.children);
      }
    }
    return out;
  }

 private:
  std::optional<std::vector<Segment>> parsePath(std::string_view text, const std::string& where) {
    if (text.empty() || text.size() > kMaxPathBytes) {
      problem(where, "a path must be 1.." + std::to_string(kMaxPathBytes) + " bytes");
      return std::nullopt;
    }
    std::vector<Segment> path;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = text.find('.', start);
      const std::string_view seg =
          text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (seg.empty() || seg.starts_with("$")) {
        problem(where, "a path is dot-separated names, none empty or starting with $");
        return std::nullopt;
      }
      Segment s{std::string(seg), -1};
      int64_t idx = 0;
      auto [end, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
      if (ec == std::errc() && end == seg.data() + seg.size() && idx >= 0) s.index = idx;
      path.push_back(std::move(s));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    if (path.size() > kMaxPathSegments) {
      problem(where, "a path has at most " + std::to_string(kMaxPathSegments) + " segments");
      return std::nullopt;
    }
    return path;
  }

  std::optional<Scalar> scalar(element v, const std::string& where) {
    Scalar s;
    switch (v.type()) {
      case element_type::STRING:
        s.kind = Scalar::Kind::kString;
        s.string = std::string(v.get_string().value_unsafe());
        return s;
      case element_type::INT64:
        s.kind = Scalar::Kind::kNumber;
        s.is_int = true;
        s.integer = v.get_int64().value_unsafe();
        s.number = static_cast<double>(s.integer);
        return s;
      case element_type::UINT64:  // above INT64_MAX: compared as a double
        s.kind = Scalar::Kind::kNumber;
        s.number = static_cast<double>(v.get_uint64().value_unsafe());
        return s;
      case element_type::DOUBLE:
        s.kind = Scalar::Kind::kNumber;
        s.number = v.get_double().value_unsafe();
        return s;
      case element_type::BOOL:
        s.kind = Scalar::Kind::kBool;
        s.boolean = v.get_bool().value_unsafe();
        return s;
      case element_type::NULL_VALUE:
        return s;
      default:
        problem(where,
                "needs a string, number, boolean or null (objects and arrays are not "
                "compared)");
        return std::nullopt;
    }
  }

  Node leaf(Op op, const std::vector<Segment>& path) {
    ++conditions;
    Node n;
    n.op = op;
    n.path = path;
    return n;
  }

  bool list(element v, const std::string& where, std::vector<Scalar>& out) {
    simdjson::dom::array arr;
    if (v.get_array().get(arr) || arr.size() == 0) {
      problem(where, "needs a non-empty array of values");
      return false;
    }
    if (arr.size() > kMaxListValues) {
      problem(where, "has more than " + std::to_string(kMaxListValues) + " values");
      return false;
    }
    bool ok = true;
    for (element e : arr) {
      auto s = scalar(e, where);
      if (s)
        out.push_back(std::move(*s));
      else
        ok = false;
    }
    return ok;
  }

  // `value` is what a path maps to: a scalar, a list or an operator object.
  void field(const std::vector<Segment>& path, const std::string& where, element value, int depth,
             std::vector<Node>& out) {
    if (value.type() == element_type::ARRAY) {
      Node n = leaf(Op::kIn, path);
      if (list(value, where, n.values)) out.push_back(std::move(n));
      return;
    }
    if (value.type() != element_type::OBJECT) {
      Node n = leaf(Op::kEq, path);
      if (auto s = scalar(value, where)) {
        n.values.push_back(std::move(*s));
        out.push_back(std::move(n));
      }
      return;
    }
    if (depth > kMaxDepth) {
      problem(where, "nested too deeply (at most " + std::to_string(kMaxDepth) + " levels)");
      return;
    }
    simdjson::dom::object ops;
    if (value.get_object().get(ops)) return;
    if (ops.size() == 0) {
      problem(where, "needs operators such as {\"$eq\": …}; an empty object matches nothing");
      return;
    }
    for (auto [key, arg] : ops) {
      const std::string here = where + "." + std::string(key);
      if (key == "$eq" || key == "$ne") {
        Node n = leaf(key == "$eq" ? Op::kEq : Op::kNe, path);
        if (auto s = scalar(arg, here)) {
          n.values.push_back(std::move(*s));
          out.push_back(std::move(n));
        }
      } else if (key == "$in" || key == "$nin") {
        Node n = leaf(key == "$in" ? Op::kIn : Op::kNin, path);
        if (list(arg, here, n.values)) out.push_back(std::move(n));
      } else if (key == "$gt" || key == "$gte" || key == "$lt" || key == "$lte") {
        Node n = leaf(key == "$gt"    ? Op::kGt
                      : key == "$gte" ? Op::kGte
                      : key == "$lt"  ? Op::kLt
                                      : Op::kLte,
                      path);
        auto s = arg.type() == element_type::ARRAY || arg.type() == element_type::OBJECT
                     ? std::nullopt
                     : scalar(arg, here);
        if (!s || (s->kind != Scalar::Kind::kNumber && s->kind != Scalar::Kind::kString)) {
          problem(here, "needs a number or a string");
          continue;
        }
        n.values.push_back(std::move(*s));
        out.push_back(std::move(n));
      } else if (key == "$exists") {
        Node n = leaf(Op::kExists, path);
        if (arg.get_bool().get(n.exists)) {
          problem(here, "needs true or false");
          continue;
        }
        out.push_back(std::move(n));
      } else if (key == "$regex") {
        std::string_view pattern;
        if (arg.get_string().get(pattern)) {
          problem(here, "needs a string (an RE2 pattern)");
          continue;
        }
        if (pattern.size() > kMaxRegexBytes) {
          problem(here, "pattern longer than " + std::to_string(kMaxRegexBytes) + " bytes");
          continue;
        }
        re2::RE2::Options options;
        options.set_log_errors(false);
        auto re =
            std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
        if (!re->ok()) {
          problem(here, "invalid regular expression: " + re->error());
          continue;
        }
        Node n = leaf(Op::kRegex, path);
        n.regex = std::move(re);
        out.push_back(std::move(n));
      } else if (key == "$not") {
        if (arg.type() != element_type::OBJECT) {
          problem(here, "needs an object of operators");
          continue;
        }
        Node all;
        all.op = Op::kAnd;
        field(path, here, arg, depth + 1, all.children);
        Node neg;
        neg.op = Op::kNot;
        neg.children.push_back(std::move(all));
        out.push_back(std::move(neg));
      } else if (key.starts_with("$")) {
        problem(here,
                "unknown operator (expected $eq $ne $in $nin $gt $gte $lt $lte $exists "
                "$regex $not)");
      } else {
        problem(here, "is not an operator; match nested fields with a dotted path such as \"a.b\"");
      }
    }
  }
};

}  // namespace

Filter::Filter(std::unique_ptr<Node> root, std::size_t conditions)
    : root_(std::move(root)), conditions_(conditions) {}
Filter::~Filter() = default;

bool Filter::matches(simdjson::dom::element event) const { return evaluate(*root_, event); }

Result<std::shared_ptr<const Filter>> compileFilter(std::string_view json) {
  if (json.size() > kMaxFilterBytes)
    return fail("filter is " + std::to_string(json.size()) + " bytes, over the limit of " +
                std::to_string(kMaxFilterBytes));
  simdjson::dom::parser parser;
  // The parser's depth bound keeps a hostile filter from recursing in the compiler.
  if (parser.allocate(std::max<std::size_t>(json.size(), 64), 2 * kMaxDepth + 2) !=
      simdjson::SUCCESS)
    return fail("filter: out of memory");
  element root;
  if (auto err = json::parseDocument(parser, json, root)) {
    if (err == simdjson::DEPTH_ERROR)
      return fail("filter is nested too deeply (at most " + std::to_string(kMaxDepth) + " levels)");
    return fail(std::string("filter is not valid JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return fail("filter must be a JSON object");
  Compiler c;
  auto node = std::make_unique<Node>(c.filterObject(obj, "", 1));
  if (c.conditions > kMaxConditions)
    c.problem("", "filter has " + std::to_string(c.conditions) + " conditions, over the limit of " +
                      std::to_string(kMaxConditions));
  if (!c.problems.empty()) {
    std::string message;
    for (const auto& p : c.problems) message += (message.empty() ? "" : "; ") + p;
    return fail(message);
  }
  return std::make_shared<const Filter>(std::move(node), c.conditions);
}

}  // namespace hookpipe::filter
