#include "producer/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace hookpipe::producer {

TokenAuth::TokenAuth(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens)
    if (!t.empty()) digests_.push_back(digest(t));
}

TokenAuth::Digest TokenAuth::digest(std::string_view token) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

TokenAuth::Verdict TokenAuth::check(std::string_view authorization) const {
  if (!enabled()) return Verdict::kAllowed;
  if (authorization.empty()) return Verdict::kMissing;
  // RFC 6750: "Bearer" (case-insensitive scheme), one space, a token68.
  static constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return Verdict::kMalformed;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return Verdict::kMalformed;
  }
  const std::string_view token = authorization.substr(kScheme.size());
  for (char c : token)
    if (c <= ' ' || c == 0x7f) return Verdict::kMalformed;
  const Digest presented = digest(token);
  int matched = 0;
  for (const auto& d : digests_)
    matched |= CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0 ? 1 : 0;
  return matched != 0 ? Verdict::kAllowed : Verdict::kUnknown;
}

}  // namespace hookpipe::producer
