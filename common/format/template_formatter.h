#pragma once

#include <memory>
#include <utility>

#include "common/format/formatter.h"
#include "common/format/template.h"

namespace hookpipe::format {

// "template": the body is the subscription's own template (format_options.template, a
// Mustache subset: template.h) rendered over the event — id, type, timestamp, data and
// whatever else the event holds. The template is compiled once, when the subscription is
// parsed (withOptions), and rendered per delivery within tmpl::Limits (1 MiB of body, a
// bounded amount of work: past them the body is cut). Validation refuses a template that
// does not compile, with its line and column. A subscription with no template that
// compiles (a stored record of a newer version) is delivered the event JSON.
class TemplateFormatter final : public Formatter {
 public:
  TemplateFormatter() = default;
  explicit TemplateFormatter(std::shared_ptr<const tmpl::Template> compiled)
      : template_(std::move(compiled)) {}
  std::string format(const json::Event& event, const Subscription& subscription) const override;
  std::vector<Problem> validate(const Options& options) const override;
  std::shared_ptr<const Formatter> withOptions(const Options& options) const override;

  static constexpr std::string_view kOption = "template";

 private:
  std::shared_ptr<const tmpl::Template> template_;
};

}  // namespace hookpipe::format
