#pragma once

#include <openssl/evp.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"

namespace hookpipe::signing {

struct MacDeleter {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

std::string base64Encode(std::string_view bytes);
Result<std::string> base64Decode(std::string_view text);

// A "whsec_<base64>" secret decoded to its key bytes (a secret without the prefix is
// taken as base64 too, as the Standard Webhooks libraries do).
Result<std::string> secretKey(std::string_view secret);
// "whsec_" + base64 of `bytes` random bytes.
std::string generateSecret(std::size_t bytes = 24);

// HMAC-SHA256 signer. One per thread. It keeps one OpenSSL MAC context per key, keyed
// once: OpenSSL 3 looks the digest up and hashes the key pads on every keyed init, which
// was about three quarters of signing a 500 B body; re-initialising a keyed context skips
// both. At most kMaxKeys contexts are kept (then they are dropped and keyed again).
class Signer {
 public:
  static constexpr std::size_t kMaxKeys = 4096;
  Signer();
  // Standard Webhooks: "v1,<base64 HMAC(id.timestamp.body)>", one per key, space separated.
  std::string standardWebhooks(const std::vector<std::string>& keys, std::string_view id,
                               int64_t timestamp_s, std::string_view body);
  // GitHub style: "sha256=<hex HMAC(body)>".
  std::string githubStyle(const std::string& key, std::string_view body);
  // The same, appended to `out` (no allocation once `out` has room: the deliverer's path).
  void appendStandardWebhooks(std::string& out, std::span<const std::string_view> keys,
                              std::string_view id, int64_t timestamp_s, std::string_view body);
  void appendGithubStyle(std::string& out, std::string_view key, std::string_view body);

 private:
  void hmac(std::string_view key, std::initializer_list<std::string_view> parts, unsigned char* out,
            size_t& out_len);
  // The context keyed with `key`, made on first use.
  EVP_MAC_CTX* keyed(std::string_view key);
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const {
      return std::hash<std::string_view>{}(key);
    }
  };
  std::unique_ptr<EVP_MAC, MacDeleter> mac_;
  std::unordered_map<std::string, std::unique_ptr<EVP_MAC_CTX, MacDeleter>, KeyHash,
                     std::equal_to<>>
      contexts_;
};

}  // namespace hookpipe::signing
