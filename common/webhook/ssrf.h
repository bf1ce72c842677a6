#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace hookpipe::webhook {

// True when the address is one webhooks must not reach by default: loopback, private
// (RFC 1918, fc00::/7), link-local, CGNAT (100.64/10), multicast, unspecified,
// broadcast, and the same ranges behind IPv4-mapped IPv6 addresses.
bool isPrivateAddress(const sockaddr* addr);

// Address ranges that receivers may be reached at although isPrivateAddress() refuses
// them (HOOKPIPE_ALLOWED_TARGETS): comma-separated CIDRs or single addresses, IPv4 or IPv6,
// e.g. "10.20.0.0/16, 192.168.1.7, fd12:3456::/32". An IPv4 range also admits the same
// addresses written as IPv4-mapped IPv6.
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

}  // namespace hookpipe::webhook
