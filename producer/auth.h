#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace hookpipe::producer {

// Bearer-token check for the /v1 routes. Holds SHA-256 digests of the configured
// tokens; a presented token is hashed and compared with every one of them in constant
// time (CRYPTO_memcmp, no early exit), so neither its content nor its length leaks
// through timing. Immutable after construction: safe to share between threads.
class TokenAuth {
 public:
  enum class Verdict { kAllowed, kMissing, kMalformed, kUnknown };

  explicit TokenAuth(const std::vector<std::string>& tokens);
  // False when no token is configured: every request is allowed.
  bool enabled() const { return !digests_.empty(); }
  // `authorization` is the raw Authorization header value ("" when absent).
  Verdict check(std::string_view authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest digest(std::string_view token);
  std::vector<Digest> digests_;
};

}  // namespace hookpipe::producer
