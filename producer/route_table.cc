#include "producer/route_table.h"

#include <stdexcept>

namespace hookpipe::producer {
namespace {

std::vector<std::string> splitPattern(std::string_view pattern) {
  std::vector<std::string> out;
  while (!pattern.empty()) {
    const auto slash = pattern.find('/');
    const std::string_view seg = pattern.substr(0, slash);
    if (!seg.empty()) out.emplace_back(seg);
    if (slash == std::string_view::npos) break;
    pattern = pattern.substr(slash + 1);
  }
  return out;
}

}  // namespace

const std::string& PathParams::operator[](std::string_view name) const {
  for (const auto& [n, index] : names_)
    if (n == name) return path_[index];
  throw std::logic_error("no path parameter " + std::string(name));
}

void RouteTable::add(std::optional<http::verb> method, std::string_view pattern,
                     RouteHandler handler) {
  auto segments = splitPattern(pattern);
  std::vector<std::pair<std::string, std::size_t>> params;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    auto& s = segments[i];
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
      params.emplace_back(s.substr(1, s.size() - 2), i);
      s.clear();
    }
  }
  Pattern* p = nullptr;
  for (auto& existing : patterns_)
    if (existing.segments == segments) p = &existing;
  if (!p) {
    patterns_.push_back({std::move(segments), std::move(params), {}, {}, std::string(pattern)});
    p = &patterns_.back();
  }
  if (method) {
    if (!p->allow.empty()) p->allow += ", ";
    p->allow += std::string(http::to_string(*method));
  }
  p->methods.emplace_back(method, std::move(handler));
}

namespace {
bool matches(const std::vector<std::string>& segments, const std::vector<std::string>& path) {
  if (segments.size() != path.size()) return false;
  for (std::size_t i = 0; i < path.size(); ++i)
    if (!segments[i].empty() && segments[i] != path[i]) return false;
  return true;
}
}  // namespace

std::string_view RouteTable::routeOf(const std::vector<std::string>& path) const {
  for (const auto& p : patterns_)
    if (matches(p.segments, path)) return p.text;
  return "unmatched";
}

void RouteTable::dispatch(const Request& req, const std::vector<std::string>& path,
                          Reply reply) const {
  for (const auto& p : patterns_) {
    if (!matches(p.segments, path)) continue;
    for (const auto& [method, handler] : p.methods)
      if (!method || *method == req.method())
        return handler(req, PathParams(path, p.params), std::move(reply));
    return reply.error(http::status::method_not_allowed, "use " + p.allow, {{"Allow", p.allow}});
  }
  reply.error(http::status::not_found, "no route " + std::string(req.target()));
}

}  // namespace hookpipe::producer
