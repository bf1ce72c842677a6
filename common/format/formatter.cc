#include "common/format/formatter.h"

#include <map>
#include <mutex>

#include "common/json/pointer.h"

namespace hookpipe::format {

void registerBuiltins(Registry& registry);  // builtin.cc

std::vector<Problem> Formatter::validate(const Options& options) const {
  std::vector<Problem> problems;
  for (const auto& [name, _] : options) {
    std::string message = "unknown option ";
    message += name.substr(0, 64);
    message += " (this format takes no options)";
    problems.push_back({optionPointer(name), std::move(message)});
  }
  return problems;
}

std::shared_ptr<const Formatter> Formatter::withOptions(const Options&) const { return nullptr; }

std::string optionPointer(std::string_view name) {
  std::string out = "/format_options/";
  out += json::pointerToken(name);
  return out;
}

std::vector<Problem> unknownOptions(const Options& options, std::string_view format,
                                    const std::vector<std::string_view>& known) {
  std::vector<Problem> problems;
  for (const auto& [name, _] : options) {
    bool found = false;
    for (auto k : known) found = found || k == name;
    if (found) continue;
    std::string message = "unknown option ";
    message += name.substr(0, 64);
    message += " for format ";
    message += format;
    message += " (it takes ";
    for (std::size_t i = 0; i < known.size(); ++i) {
      if (i > 0) message += ", ";
      message += known[i];
    }
    message += ")";
    problems.push_back({optionPointer(name), std::move(message)});
  }
  return problems;
}

struct Registry::Impl {
  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<const Formatter>, std::less<>> formats;
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}

Registry& Registry::global() {
  static Registry* const registry = [] {
    auto* r = new Registry();  // never destroyed: formatters may be used until exit
    registerBuiltins(*r);
    return r;
  }();
  return *registry;
}

void Registry::add(std::string name, std::shared_ptr<const Formatter> formatter) {
  std::lock_guard lock(impl_->mu);
  impl_->formats[std::move(name)] = std::move(formatter);
}

void Registry::remove(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  if (auto it = impl_->formats.find(name); it != impl_->formats.end()) impl_->formats.erase(it);
}

std::shared_ptr<const Formatter> Registry::find(std::string_view name) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->formats.find(name);
  return it == impl_->formats.end() ? nullptr : it->second;
}

std::vector<std::string> Registry::names() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> out;
  for (const auto& [name, _] : impl_->formats) out.push_back(name);
  return out;
}

std::shared_ptr<const Formatter> resolve(std::string_view name, bool& known) {
  auto formatter = Registry::global().find(name);
  known = formatter != nullptr;
  if (formatter && formatter->passesEventThrough()) return nullptr;
  return formatter;
}

}  // namespace hookpipe::format
