#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// The template engine of the "template" format: a Mustache subset compiled once and
// rendered over a parsed event, with every render bounded (README.md says why it is ours
// and not a library's). Syntax:
//   {{path}}            the value, escaped for the inside of a JSON string literal: a
//                       string's characters (" \ and control characters escaped), a
//                       number or boolean as written, an object or array as compact JSON
//                       (escaped), null and a missing path as nothing
//   {{{path}}} {{&path}} the value as JSON: a string with its quotes, a number, boolean,
//                       object or array as compact JSON, null and a missing path as null
//   {{#path}}…{{/path}} the section: once per item of a non-empty array, once (with the
//                       value as the context) for any other truthy value, never for a
//                       falsy one: missing, null, false, "" and []
//   {{^path}}…{{/path}} the inverted section: once when the value is falsy
//   {{! comment }}      nothing
// A path is "." (the current context) or dot-separated keys: `data.order.id`; a key of
// digits indexes an array (`data.items.0.sku`). Its first key is looked up in the contexts
// from the innermost section outwards (the event is the outermost); the rest from there.
// Partials ({{>name}}) and set-delimiter tags ({{=<% %>=}}) are refused. Whitespace is
// kept as written (no "standalone line" removal).
namespace hookpipe::format::tmpl {

inline constexpr std::size_t kMaxTemplateBytes = 64 * 1024;
inline constexpr std::size_t kMaxDepth = 16;  // sections nested in one another

// What bounds one render.
struct Limits {
  std::size_t max_output = 1024 * 1024;  // bytes of body; the rest is cut
  // Units of work: a tag evaluated, a section's pass, a key or array item stepped over
  // while looking a path up. Past it the render stops (the body is what was made so far).
  std::size_t max_work = 1000000;
};

// How a render ended.
struct Outcome {
  bool cut = false;  // stopped at max_output or max_work
  std::size_t work = 0;
};

class Template {
 public:
  // The compiled template, or null with `error` set ("line 3, column 7: unclosed section
  // data.items (opened at line 1, column 1)").
  static std::shared_ptr<const Template> compile(std::string_view text, std::string& error);

  // The body over `root` (the event's object). Never fails; thread-safe.
  std::string render(simdjson::dom::element root, const Limits& limits = {},
                     Outcome* outcome = nullptr) const;

  struct Node;
  ~Template();
  Template();

 private:
  std::vector<Node> nodes_;
};

}  // namespace hookpipe::format::tmpl
