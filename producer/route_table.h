#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "producer/http.h"
#include "producer/reply.h"

namespace hookpipe::producer {

// The {name} segments of the route that matched, %-decoded (pathSegments()).
class PathParams {
 public:
  PathParams(const std::vector<std::string>& path,
             const std::vector<std::pair<std::string, std::size_t>>& names)
      : path_(path), names_(names) {}
  // The segment named `name` in the route's pattern (registered names only).
  const std::string& operator[](std::string_view name) const;

 private:
  const std::vector<std::string>& path_;
  const std::vector<std::pair<std::string, std::size_t>>& names_;
};

using RouteHandler = std::function<void(const Request&, const PathParams&, Reply)>;

// Routes by method and path pattern ("/v1/subscriptions/{id}/pause": literal segments,
// and {name} segments that match any one segment). Filled at start-up, then read-only
// (the HTTP threads share it). A lookup compares the request's segments with each
// pattern of as many segments, literals only, in registration order: no regex, no
// allocation. A path whose pattern has no route for the method is a 405 listing the
// pattern's methods in Allow (in registration order); a path no pattern matches is a 404.
class RouteTable {
 public:
  // `method` nullopt: any method (never a 405).
  void add(std::optional<http::verb> method, std::string_view pattern, RouteHandler handler);
  // Answers `req`, whose target is split into `path` (pathSegments()).
  void dispatch(const Request& req, const std::vector<std::string>& path, Reply reply) const;
  // The pattern that `path` matches, as registered ("/v1/subscriptions/{id}"), whatever the
  // method; "unmatched" when none does. The route label of the request metrics.
  std::string_view routeOf(const std::vector<std::string>& path) const;

 private:
  struct Pattern {
    std::vector<std::string> segments;  // "" for a {name} segment
    std::vector<std::pair<std::string, std::size_t>> params;
    std::vector<std::pair<std::optional<http::verb>, RouteHandler>> methods;
    std::string allow;  // "GET, PUT, PATCH, DELETE"
    std::string text;   // the pattern as registered
  };
  std::vector<Pattern> patterns_;
};

}  // namespace hookpipe::producer
