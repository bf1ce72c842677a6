#include "common/signing/signer.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>

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
  ctx_.reset(EVP_MAC_CTX_new(mac_.get()));
  if (!ctx_) throw std::runtime_error("EVP_MAC_CTX_new failed");
}

void Signer::hmac(const std::string& key, std::initializer_list<std::string_view> parts,
                  unsigned char* out, size_t& out_len) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  EVP_MAC_init(ctx_.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
  for (auto part : parts)
    EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(part.data()), part.size());
  EVP_MAC_final(ctx_.get(), out, &out_len, EVP_MAX_MD_SIZE);
}

std::string Signer::standardWebhooks(const std::vector<std::string>& keys, std::string_view id,
                                     int64_t timestamp_s, std::string_view body) {
  const std::string ts = std::to_string(timestamp_s);
  std::string header;
  for (const auto& key : keys) {
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t len = 0;
    hmac(key, {id, ".", ts, ".", body}, out, len);
    if (!header.empty()) header += ' ';
    header += "v1,";
    header += base64Encode(std::string_view(reinterpret_cast<char*>(out), len));
  }
  return header;
}

std::string Signer::githubStyle(const std::string& key, std::string_view body) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  hmac(key, {body}, out, len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string header = "sha256=";
  for (size_t i = 0; i < len; ++i) {
    header += kHex[out[i] >> 4];
    header += kHex[out[i] & 0xf];
  }
  return header;
}

}  // namespace hookpipe::signing
