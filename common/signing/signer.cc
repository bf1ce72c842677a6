#include "common/signing/signer.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

namespace hookpipe::signing {

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return fail("base64 length is not a multiple of 4");
  // '=' only as the last one or two characters (EVP_DecodeBlock reads it anywhere as zero).
  const auto first_pad = text.find('=');
  if (first_pad != std::string_view::npos &&
      (first_pad + 2 < text.size() ||
       text.find_first_not_of('=', first_pad) != std::string_view::npos))
    return fail("not valid base64");
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return fail("not valid base64");
  std::size_t padding = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && padding < 2; ++it) ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

Result<std::string> secretKey(std::string_view secret) {
  if (secret.starts_with("whsec_")) secret.remove_prefix(6);
  auto key = base64Decode(secret);
  if (!key || key->empty()) return fail("secret must be whsec_ followed by base64");
  return key;
}

std::string generateSecret(std::size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  return "whsec_" + base64Encode(raw);
}

Signer::Signer() : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {
  if (!mac_) throw std::runtime_error("OpenSSL has no HMAC");
}

EVP_MAC_CTX* Signer::keyed(std::string_view key) {
  if (auto it = contexts_.find(key); it != contexts_.end()) {
    // Same key: a NULL key re-initialises with the one set before (OpenSSL 3).
    if (EVP_MAC_init(it->second.get(), nullptr, 0, nullptr) != 1)
      throw std::runtime_error("EVP_MAC_init failed");
    return it->second.get();
  }
  if (contexts_.size() >= kMaxKeys) contexts_.clear();
  std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx(EVP_MAC_CTX_new(mac_.get()));
  if (!ctx) throw std::runtime_error("EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // (An empty key still needs a non-null pointer to count as a key.)
  static const unsigned char kEmpty = 0;
  const auto* bytes = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx.get(), bytes, key.size(), params) != 1)
    throw std::runtime_error("EVP_MAC_init failed");
  return contexts_.emplace(std::string(key), std::move(ctx)).first->second.get();
}

void Signer::hmac(std::string_view key, std::initializer_list<std::string_view> parts,
                  unsigned char* out, size_t& out_len) {
  EVP_MAC_CTX* ctx = keyed(key);
  for (auto part : parts)
    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size());
  EVP_MAC_final(ctx, out, &out_len, EVP_MAX_MD_SIZE);
}

std::string Signer::standardWebhooks(const std::vector<std::string>& keys, std::string_view id,
                                     int64_t timestamp_s, std::string_view body) {
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::string header;
  appendStandardWebhooks(header, views, id, timestamp_s, body);
  return header;
}

std::string Signer::githubStyle(const std::string& key, std::string_view body) {
  std::string header;
  appendGithubStyle(header, key, body);
  return header;
}

void Signer::appendStandardWebhooks(std::string& out, std::span<const std::string_view> keys,
                                    std::string_view id, int64_t timestamp_s,
                                    std::string_view body) {
  char ts_buf[24];
  const auto ts_end = std::to_chars(ts_buf, ts_buf + sizeof ts_buf, timestamp_s).ptr;
  const std::string_view ts(ts_buf, static_cast<std::size_t>(ts_end - ts_buf));
  bool first = true;
  for (const auto key : keys) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    hmac(key, {id, ".", ts, ".", body}, mac, len);
    if (!first) out += ' ';
    first = false;
    out += "v1,";
    const std::size_t at = out.size();
    out.resize(at + 4 * ((len + 2) / 3));
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + at), mac,
                                  static_cast<int>(len));
    out.resize(at + static_cast<std::size_t>(n));
  }
}

void Signer::appendGithubStyle(std::string& out, std::string_view key, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  hmac(key, {body}, mac, len);
  static constexpr char kHex[] = "0123456789abcdef";
  out += "sha256=";
  for (size_t i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
}

}  // namespace hookpipe::signing
