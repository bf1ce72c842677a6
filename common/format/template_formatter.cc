#include "common/format/template_formatter.h"

#include <simdjson.h>

#include <boost/json.hpp>

#include "common/json/event.h"

namespace hookpipe::format {

std::string TemplateFormatter::format(const json::Event& event, const Subscription&) const {
  if (!template_) return event.body;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(event.body).get(root) || !root.is_object()) {
    // A valid event simdjson's DOM cannot hold (a number past double): its id and type.
    boost::json::object o;
    o["id"] = event.id;
    o["type"] = event.type;
    if (parser.parse(boost::json::serialize(o)).get(root)) return event.body;
  }
  return template_->render(root);
}

std::vector<Problem> TemplateFormatter::validate(const Options& options) const {
  auto problems = unknownOptions(options, "template", {kOption});
  auto it = options.find(kOption);
  if (it == options.end()) {
    problems.push_back({optionPointer(kOption),
                        "template is required for format template: the body to send, such as "
                        "{\"order\":\"{{data.order.id}}\"}"});
  } else if (it->second.kind != Option::Kind::kString) {
    problems.push_back({optionPointer(kOption), "template must be a string"});
  } else {
    std::string error;
    if (!tmpl::Template::compile(it->second.text, error)) {
      std::string message = "template does not compile: ";
      message += error;
      problems.push_back({optionPointer(kOption), std::move(message)});
    }
  }
  return problems;
}

std::shared_ptr<const Formatter> TemplateFormatter::withOptions(const Options& options) const {
  auto it = options.find(kOption);
  if (it == options.end() || it->second.kind != Option::Kind::kString) return nullptr;
  std::string error;
  auto compiled = tmpl::Template::compile(it->second.text, error);
  if (!compiled) return nullptr;
  return std::make_shared<TemplateFormatter>(std::move(compiled));
}

}  // namespace hookpipe::format
