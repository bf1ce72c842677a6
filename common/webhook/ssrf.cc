#include "common/webhook/ssrf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

namespace hookpipe::webhook {
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

// ::ffff:a.b.c.d — the IPv4 address is in the last 4 bytes.
bool ipv4Mapped(const uint8_t* v6) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(v6, kMapped, sizeof kMapped) == 0;
}

}  // namespace

bool isPrivateAddress(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(addr);
    return privateV4(ntohl(v4->sin_addr.s_addr));
  }
  if (addr->sa_family != AF_INET6) return true;  // unknown families are refused
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(addr);
  const uint8_t* b = v6->sin6_addr.s6_addr;
  if (ipv4Mapped(b)) {
    const uint32_t a =
        (uint32_t(b[12]) << 24) | (uint32_t(b[13]) << 16) | (uint32_t(b[14]) << 8) | b[15];
    return privateV4(a);
  }
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true;  // :: and ::1
  if ((b[0] & 0xfe) == 0xfc) return true;                                         // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;                         // fe80::/10
  if (b[0] == 0xff) return true;                                                  // multicast
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
  const bool mapped = v6 && ipv4Mapped(bytes);
  for (const Range& r : ranges_) {
    if (matches(r, v6, bytes)) return true;
    if (mapped && matches(r, false, bytes + 12)) return true;
  }
  return false;
}

}  // namespace hookpipe::webhook
