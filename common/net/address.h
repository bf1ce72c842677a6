#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace hookpipe::net {

// True when the address is one webhooks must not reach by default: loopback, private
// (RFC 1918, fc00::/7), link-local, CGNAT (100.64/10), multicast, unspecified,
// broadcast, and the same ranges behind IPv6 addresses that carry an IPv4 address
// (IPv4-mapped and -translated, IPv4-compatible, NAT64, 6to4: embeddedIpv4()).
bool isPrivateAddress(const sockaddr* addr);

// The IPv4 addresses (host byte order) an IPv6 address (16 bytes, network order) stands
// for; none for an ordinary IPv6 address, two for some NAT64 local-use addresses.
struct EmbeddedIpv4 {
  std::array<uint32_t, 2> v4{};
  int count = 0;
};
EmbeddedIpv4 embeddedIpv4(const uint8_t* v6);

// Address ranges that receivers may be reached at although isPrivateAddress() refuses
// them (HOOKPIPE_ALLOWED_TARGETS): comma-separated CIDRs or single addresses, IPv4 or IPv6,
// e.g. "10.20.0.0/16, 192.168.1.7, fd12:3456::/32". An IPv4 range also admits the same
// addresses written as IPv6 forms that carry them (mapped, NAT64, 6to4 …: embeddedIpv4()).
class AddressRanges {
 public:
  // An empty list is valid and contains nothing; errors name the entry at fault.
  static std::expected<AddressRanges, std::string> parse(std::string_view list);
  bool contains(const sockaddr* addr) const;
  bool empty() const { return ranges_.empty(); }

 private:
  struct Range {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};  // network order; IPv4 in the first 4
    int bits = 0;
  };
  static bool matches(const Range& r, bool v6, const uint8_t* bytes);
  std::vector<Range> ranges_;
};

}  // namespace hookpipe::net
