#include "common/format/template.h"

#include <algorithm>
#include <cstdint>

#include "common/json/escape.h"

namespace hookpipe::format::tmpl {

struct Template::Node {
  enum class Kind : uint8_t { kText, kEscaped, kRaw, kSection, kInverted };
  Kind kind = Kind::kText;
  std::string text;               // kText: the literal; else the path as written
  std::vector<std::string> path;  // empty: "." (the current context)
  std::vector<Node> children;     // kSection, kInverted
};

Template::Template() = default;
Template::~Template() = default;

namespace {

using Node = Template::Node;

// "line L, column C" of byte `at` (both from 1; columns in bytes).
std::string where(std::string_view text, std::size_t at) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  std::string out = "line ";
  out += std::to_string(line);
  out += ", column ";
  out += std::to_string(column);
  return out;
}

// A tag's name as it can be quoted in a message (at most 64 bytes, printable ASCII).
std::string quoteName(std::string_view name) {
  std::string out = "'";
  for (char c : name.substr(0, 64))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (name.size() > 64) out += "...";
  out += '\'';
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// "." or dot-separated non-empty keys without whitespace, braces or control characters.
bool parsePath(std::string_view name, std::vector<std::string>& out) {
  out.clear();
  if (name == ".") return true;
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (c <= ' ' || c == '{' || c == '}' || c == 0x7f) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view key = name.substr(start, dot - start);
    if (key.empty()) return false;
    out.emplace_back(key);
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

struct Open {
  Node* node;
  std::size_t at;  // where its tag starts
};

}  // namespace

std::shared_ptr<const Template> Template::compile(std::string_view text, std::string& error) {
  error.clear();
  if (text.size() > kMaxTemplateBytes) {
    error = "template is ";
    error += std::to_string(text.size());
    error += " bytes; at most ";
    error += std::to_string(kMaxTemplateBytes);
    return nullptr;
  }
  auto compiled = std::make_shared<Template>();
  Node root;
  std::vector<Open> open{{&root, 0}};
  auto fail = [&](std::size_t at, std::string message) -> std::shared_ptr<const Template> {
    error = where(text, at);
    error += ": ";
    error += message;
    return nullptr;
  };
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = text.find("{{", pos);
    std::vector<Node>& into = open.back().node->children;
    if (start != pos) {
      const std::size_t end = start == std::string_view::npos ? text.size() : start;
      Node literal;
      literal.text = text.substr(pos, end - pos);
      into.push_back(std::move(literal));
      if (start == std::string_view::npos) break;
    }
    const bool triple = text.compare(start, 3, "{{{") == 0;
    const std::string_view closer = triple ? "}}}" : "}}";
    const std::size_t content = start + (triple ? 3 : 2);
    const std::size_t close = text.find(closer, content);
    if (close == std::string_view::npos)
      return fail(start,
                  triple ? "unclosed tag: '{{{' without '}}}'" : "unclosed tag: '{{' without '}}'");
    pos = close + closer.size();
    std::string_view inner = trim(text.substr(content, close - content));
    Node node;
    char sigil = 0;
    if (triple) {
      node.kind = Node::Kind::kRaw;
    } else if (!inner.empty() &&
               std::string_view("#^/!&>=").find(inner.front()) != std::string_view::npos) {
      sigil = inner.front();
      inner = trim(inner.substr(1));
    }
    switch (sigil) {
      case '!':
        continue;  // a comment
      case '>':
        return fail(start, "partials ('{{>name}}') are not supported");
      case '=':
        return fail(start, "set-delimiter tags ('{{=<% %>=}}') are not supported");
      case '#':
        node.kind = Node::Kind::kSection;
        break;
      case '^':
        node.kind = Node::Kind::kInverted;
        break;
      case '&':
        node.kind = Node::Kind::kRaw;
        break;
      case '/':
        break;
      default:
        if (!triple) node.kind = Node::Kind::kEscaped;
        break;
    }
    if (inner.empty()) return fail(start, "empty tag: a tag names a path such as data.order.id");
    if (!parsePath(inner, node.path)) {
      std::string m = "bad name ";
      m += quoteName(inner);
      m += ": a name is '.' or dot-separated keys without spaces or braces";
      return fail(start, std::move(m));
    }
    node.text = inner;
    if (sigil == '/') {
      std::string m = "{{/";
      m += inner.substr(0, 64);
      if (open.size() == 1) {
        m += "}} closes no open section";
        return fail(start, std::move(m));
      }
      const Node& section = *open.back().node;
      if (section.text != inner) {
        m += "}} does not close section ";
        m += quoteName(section.text);
        m += " (opened at ";
        m += where(text, open.back().at);
        m += ")";
        return fail(start, std::move(m));
      }
      open.pop_back();
      continue;
    }
    const bool opens = node.kind == Node::Kind::kSection || node.kind == Node::Kind::kInverted;
    if (opens && open.size() > kMaxDepth) {
      std::string m = "sections nest at most ";
      m += std::to_string(kMaxDepth);
      m += " deep";
      return fail(start, std::move(m));
    }
    into.push_back(std::move(node));
    if (opens) open.push_back({&into.back(), start});
  }
  if (open.size() > 1) {
    std::string m = "unclosed section ";
    m += quoteName(open.back().node->text);
    m += ": no {{/";
    m += std::string_view(open.back().node->text).substr(0, 64);
    m += "}}";
    return fail(open.back().at, std::move(m));
  }
  compiled->nodes_ = std::move(root.children);
  return compiled;
}

namespace {

class Renderer {
 public:
  Renderer(const Limits& limits, std::string& out) : limits_(limits), out_(out) {}

  bool stopped() const { return stopped_; }
  std::size_t work() const { return work_; }

  // False once a limit is reached (the render stops).
  bool nodes(const std::vector<Node>& list) {
    for (const Node& node : list)
      if (!one(node)) return false;
    return true;
  }

  void push(simdjson::dom::element e) { stack_.push_back(e); }

 private:
  bool spend(std::size_t units = 1) {
    work_ += units;
    if (work_ > limits_.max_work) stopped_ = true;
    return !stopped_;
  }

  // Appends `piece`, cut at max_output on a UTF-8 code point boundary.
  bool emit(std::string_view piece) {
    if (out_.size() + piece.size() <= limits_.max_output) {
      out_ += piece;
      return true;
    }
    std::size_t n = limits_.max_output - out_.size();
    while (n > 0 && (static_cast<unsigned char>(piece[n]) & 0xc0) == 0x80) --n;
    out_.append(piece.data(), n);
    stopped_ = true;
    return false;
  }

  // The element at `path` from the contexts, or false when missing.
  bool lookup(const std::vector<std::string>& path, simdjson::dom::element& out) {
    if (path.empty()) {
      out = stack_.back();
      return true;
    }
    simdjson::dom::element at;
    bool found = false;
    for (auto it = stack_.rbegin(); it != stack_.rend() && !found; ++it) {
      if (!spend()) return false;
      found = child(*it, path.front(), at);
      if (stopped_) return false;
    }
    if (!found) return false;
    for (std::size_t i = 1; i < path.size(); ++i)
      if (!child(at, path[i], at)) return false;
    out = at;
    return true;
  }

  // The member `key` of an object, or item `key` (digits) of an array; each key or item
  // stepped over costs a unit of work.
  bool child(simdjson::dom::element e, std::string_view key, simdjson::dom::element& out) {
    simdjson::dom::object obj;
    if (!e.get_object().get(obj)) {
      for (auto field : obj) {
        if (!spend()) return false;
        if (field.key == key) {
          out = field.value;
          return true;
        }
      }
      return false;
    }
    simdjson::dom::array arr;
    if (e.get_array().get(arr) || key.empty() || key.size() > 9) return false;
    std::size_t index = 0;
    for (char c : key) {
      if (c < '0' || c > '9') return false;
      index = index * 10 + static_cast<std::size_t>(c - '0');
    }
    for (auto item : arr) {
      if (!spend()) return false;
      if (index-- == 0) {
        out = item;
        return true;
      }
    }
    return false;
  }

  static bool truthy(simdjson::dom::element e) {
    switch (e.type()) {
      case simdjson::dom::element_type::NULL_VALUE:
        return false;
      case simdjson::dom::element_type::BOOL:
        return e.get_bool().value_unsafe();
      case simdjson::dom::element_type::STRING:
        return !e.get_string().value_unsafe().empty();
      case simdjson::dom::element_type::ARRAY:
        return e.get_array().value_unsafe().size() != 0;
      default:
        return true;
    }
  }

  bool value(const Node& node) {
    simdjson::dom::element e;
    const bool found = lookup(node.path, e);
    if (stopped_) return false;
    if (node.kind == Node::Kind::kRaw) return emit(found ? simdjson::minify(e) : "null");
    if (!found || e.is_null()) return true;
    std::string_view s;
    scratch_.clear();
    if (!e.get_string().get(s))
      json::appendEscaped(scratch_, s);
    else if (e.is_object() || e.is_array())
      json::appendEscaped(scratch_, simdjson::minify(e));
    else
      scratch_ = simdjson::minify(e);
    return emit(scratch_);
  }

  bool one(const Node& node) {
    if (!spend()) return false;
    switch (node.kind) {
      case Node::Kind::kText:
        return emit(node.text);
      case Node::Kind::kEscaped:
      case Node::Kind::kRaw:
        return value(node);
      case Node::Kind::kSection:
      case Node::Kind::kInverted:
        break;
    }
    simdjson::dom::element e;
    const bool found = lookup(node.path, e);
    if (stopped_) return false;
    const bool on = found && truthy(e);
    if (node.kind == Node::Kind::kInverted) return on || nodes(node.children);
    if (!on) return true;
    simdjson::dom::array arr;
    if (!e.get_array().get(arr)) {
      for (auto item : arr) {
        if (!spend()) return false;
        stack_.push_back(item);
        const bool more = nodes(node.children);
        stack_.pop_back();
        if (!more) return false;
      }
      return true;
    }
    stack_.push_back(e);
    const bool more = nodes(node.children);
    stack_.pop_back();
    return more;
  }

  const Limits& limits_;
  std::string& out_;
  std::string scratch_;
  std::vector<simdjson::dom::element> stack_;
  std::size_t work_ = 0;
  bool stopped_ = false;
};

}  // namespace

std::string Template::render(simdjson::dom::element root, const Limits& limits,
                             Outcome* outcome) const {
  std::string out;
  Renderer r(limits, out);
  r.push(root);
  r.nodes(nodes_);
  if (outcome) *outcome = {r.stopped(), r.work()};
  return out;
}

}  // namespace hookpipe::format::tmpl
