#include "common/net/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>

namespace hookpipe::net {
namespace {

bool privateV4(uint32_t a) {  // host byte order
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8) ||   // 0.0.0.0/8 unspecified
         in(0x0A000000, 8) ||   // 10/8
         in(0x64400000, 10) ||  // 100.64/10 CGNAT
         in(0x7F000000, 8) ||   // 127/8 loopback
         in(0xA9FE0000, 16) ||  // 169.254/16 link-local
         in(0xAC100000, 12) ||  // 172.16/12
         in(0xC0A80000, 16) ||  // 192.168/16
         in(0xC0000000, 24) ||  // 192.0.0/24 IETF protocol assignments
         in(0xC6120000, 15) ||  // 198.18/15 benchmarking
         in(0xE0000000, 4) ||   // 224/4 multicast
         in(0xF0000000, 4);     // 240/4 reserved, broadcast
}

uint32_t v4At(const uint8_t* b, int i0, int i1, int i2, int i3) {
  return (uint32_t(b[i0]) << 24) | (uint32_t(b[i1]) << 16) | (uint32_t(b[i2]) << 8) | b[i3];
}

bool startsWith(const uint8_t* v6, std::initializer_list<uint8_t> prefix) {
  return std::memcmp(v6, prefix.begin(), prefix.size()) == 0;
}

// :: and ::1 (IPv6's own, not IPv4-compatible addresses).
bool unspecifiedOrLoopback(const uint8_t* v6) {
  static constexpr uint8_t kZero[15] = {};
  return std::memcmp(v6, kZero, sizeof kZero) == 0 && (v6[15] == 0 || v6[15] == 1);
}

}  // namespace

// The IPv4 addresses an IPv6 address stands for: a packet to it reaches (or is
// translated to) that IPv4 host, so the host is judged by the IPv4 rules.
//   ::ffff:a.b.c.d       IPv4-mapped (::ffff:0:0/96)
//   ::ffff:0:a.b.c.d     IPv4-translated, SIIT (::ffff:0:0:0/96)
//   ::a.b.c.d            IPv4-compatible (::/96 but :: and ::1, RFC 4291; deprecated)
//   64:ff9b::a.b.c.d     NAT64 well-known prefix (64:ff9b::/96, RFC 6052)
//   64:ff9b:1:…          NAT64 local-use prefix (64:ff9b:1::/48, RFC 8215): the operator
//                        picks the prefix length inside it, so both the /96 layout (the
//                        last 32 bits) and, when bits 48-95 are not zero, the /48 layout
//                        (bits 48-63 and 72-87, RFC 6052 section 2.2) are judged
//   2002:abcd:ef01::/48  6to4 (2002::/16): the IPv4 address is bits 16-47
EmbeddedIpv4 embeddedIpv4(const uint8_t* b) {
  EmbeddedIpv4 out;
  static constexpr uint8_t kZero[12] = {};
  if (startsWith(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) ||
      startsWith(b, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}) ||
      (std::memcmp(b, kZero, sizeof kZero) == 0 && !unspecifiedOrLoopback(b)) ||
      startsWith(b, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    out.v4[out.count++] = v4At(b, 12, 13, 14, 15);
  } else if (startsWith(b, {0, 0x64, 0xff, 0x9b, 0, 1})) {
    out.v4[out.count++] = v4At(b, 12, 13, 14, 15);
    if (std::memcmp(b + 6, kZero, 6) != 0) out.v4[out.count++] = v4At(b, 6, 7, 9, 10);
  } else if (startsWith(b, {0x20, 0x02})) {
    out.v4[out.count++] = v4At(b, 2, 3, 4, 5);
  }
  return out;
}

bool isPrivateAddress(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(addr);
    return privateV4(ntohl(v4->sin_addr.s_addr));
  }
  if (addr->sa_family != AF_INET6) return true;  // unknown families are refused
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(addr);
  const uint8_t* b = v6->sin6_addr.s6_addr;
  const EmbeddedIpv4 embedded = embeddedIpv4(b);
  for (int i = 0; i < embedded.count; ++i)
    if (privateV4(embedded.v4[i])) return true;
  if (unspecifiedOrLoopback(b)) return true;
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10
  if (b[0] == 0xff) return true;                           // multicast
  return false;
}

std::expected<AddressRanges, std::string> AddressRanges::parse(std::string_view list) {
  AddressRanges out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) continue;
    const auto slash = entry.find('/');
    const std::string address(entry.substr(0, slash));
    Range r;
    r.v6 = address.find(':') != std::string::npos;
    // (Strings built with += : g++ 12 warns falsely on "lit" + std::string.)
    std::string quoted = "'";
    quoted += entry;
    quoted += "'";
    if (inet_pton(r.v6 ? AF_INET6 : AF_INET, address.c_str(), r.bytes.data()) != 1)
      return std::unexpected(quoted + " is not an IPv4 or IPv6 address");
    const int max_bits = r.v6 ? 128 : 32;
    r.bits = max_bits;
    if (slash != std::string_view::npos) {
      const std::string_view bits = entry.substr(slash + 1);
      int n = -1;
      if (!bits.empty() && bits.size() <= 3 &&
          bits.find_first_not_of("0123456789") == std::string_view::npos)
        n = std::stoi(std::string(bits));
      if (n < 0 || n > max_bits) {
        quoted += ": the prefix length must be 0..";
        quoted += std::to_string(max_bits);
        return std::unexpected(quoted);
      }
      r.bits = n;
    }
    out.ranges_.push_back(r);
  }
  return out;
}

bool AddressRanges::matches(const Range& r, bool v6, const uint8_t* bytes) {
  if (r.v6 != v6) return false;
  const int whole = r.bits / 8, rest = r.bits % 8;
  if (std::memcmp(r.bytes.data(), bytes, static_cast<std::size_t>(whole)) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (r.bytes[static_cast<std::size_t>(whole)] & mask) == (bytes[whole] & mask);
}

bool AddressRanges::contains(const sockaddr* addr) const {
  const uint8_t* bytes = nullptr;
  bool v6 = false;
  if (addr->sa_family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr);
  } else if (addr->sa_family == AF_INET6) {
    bytes = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr.s6_addr;
    v6 = true;
  } else {
    return false;
  }
  for (const Range& r : ranges_)
    if (matches(r, v6, bytes)) return true;
  if (!v6) return false;
  // An IPv6 address standing for IPv4 ones (mapped, NAT64, 6to4 ...) is admitted by the
  // IPv4 ranges when one of its addresses is in them and none of the others is private.
  const EmbeddedIpv4 embedded = embeddedIpv4(bytes);
  bool in_range = false;
  for (int i = 0; i < embedded.count; ++i) {
    uint8_t v4[4];
    for (int k = 0; k < 4; ++k) v4[k] = static_cast<uint8_t>(embedded.v4[i] >> (24 - 8 * k));
    bool hit = false;
    for (const Range& r : ranges_) hit = hit || matches(r, false, v4);
    if (hit)
      in_range = true;
    else if (privateV4(embedded.v4[i]))
      return false;
  }
  return in_range;
}

}  // namespace hookpipe::net
