// Unit tests for common/net/address.h: which resolved addresses the deliverer refuses.
#include "common/net/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <string>
#include <vector>

namespace hookpipe::net {
namespace {

struct Case {
  std::string address;
  bool refused;
};

bool refusedV4(const std::string& text) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(443);
  EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &sa.sin_addr), 1) << text;
  return isPrivateAddress(reinterpret_cast<const sockaddr*>(&sa));
}

bool refusedV6(const std::string& text) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(443);
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &sa.sin6_addr), 1) << text;
  return isPrivateAddress(reinterpret_cast<const sockaddr*>(&sa));
}

TEST(SsrfGuard, Ipv4RangesAndTheirEdges) {
  const std::vector<Case> cases = {
      // 0.0.0.0/8 unspecified
      {"0.0.0.0", true},
      {"0.255.255.255", true},
      // 10/8
      {"9.255.255.255", false},
      {"10.0.0.0", true},
      {"10.1.2.3", true},
      {"10.255.255.255", true},
      {"11.0.0.0", false},
      // 100.64/10 CGNAT
      {"100.63.255.255", false},
      {"100.64.0.0", true},
      {"100.100.100.100", true},
      {"100.127.255.255", true},
      {"100.128.0.0", false},
      // 127/8 loopback
      {"126.255.255.255", false},
      {"127.0.0.1", true},
      {"127.255.255.254", true},
      {"128.0.0.0", false},
      // 169.254/16 link-local, including the cloud metadata address
      {"169.253.255.255", false},
      {"169.254.0.0", true},
      {"169.254.169.254", true},
      {"169.254.255.255", true},
      {"169.255.0.0", false},
      // 172.16/12
      {"172.15.255.255", false},
      {"172.16.0.0", true},
      {"172.20.1.1", true},
      {"172.31.255.255", true},
      {"172.32.0.0", false},
      // 192.168/16
      {"192.167.255.255", false},
      {"192.168.0.0", true},
      {"192.168.1.1", true},
      {"192.168.255.255", true},
      {"192.169.0.0", false},
      // 224/4 multicast, 240/4 reserved and broadcast
      {"223.255.255.255", false},
      {"224.0.0.0", true},
      {"224.0.0.251", true},
      {"239.255.255.255", true},
      {"240.0.0.1", true},
      {"255.255.255.255", true},
      // public
      {"8.8.8.8", false},
      {"1.1.1.1", false},
      {"93.184.216.34", false},
      {"151.101.1.69", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    EXPECT_EQ(refusedV4(c.address), c.refused);
  }
}

TEST(SsrfGuard, Ipv6Ranges) {
  const std::vector<Case> cases = {
      {"::1", true},
      {"::", true},
      // fc00::/7 unique local
      {"fbff:ffff::1", false},
      {"fc00::", true},
      {"fc00::1", true},
      {"fd12:3456:789a::1", true},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"fe00::1", false},
      // fe80::/10 link-local
      {"fe80::", true},
      {"fe80::1", true},
      {"febf:ffff::1", true},
      // ff00::/8 multicast
      {"ff02::1", true},
      {"ff05::1:3", true},
      // public
      {"2001:4860:4860::8888", false},
      {"2606:4700:4700::1111", false},
      {"2a00:1450:4001:82a::200e", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    EXPECT_EQ(refusedV6(c.address), c.refused);
  }
}

TEST(SsrfGuard, Ipv4MappedIpv6FollowsTheIpv4Rules) {
  const std::vector<Case> cases = {
      {"::ffff:127.0.0.1", true},       {"::ffff:10.1.2.3", true},
      {"::ffff:169.254.169.254", true}, {"::ffff:192.168.0.1", true},
      {"::ffff:172.31.0.1", true},      {"::ffff:100.64.0.1", true},
      {"::ffff:0.0.0.0", true},         {"::ffff:255.255.255.255", true},
      {"::ffff:8.8.8.8", false},        {"::ffff:1.1.1.1", false},
      {"::ffff:172.32.0.0", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    EXPECT_EQ(refusedV6(c.address), c.refused);
  }
}

// IPv6 forms that carry an IPv4 address are judged by that address (issue 13: NAT64 and
// IPv4-compatible loopback were let through).
TEST(SsrfGuard, Ipv4CompatibleAndTranslatedFollowTheIpv4Rules) {
  const std::vector<Case> cases = {
      {"::127.0.0.1", true},        {"::7f00:1", true},          {"::10.0.0.1", true},
      {"::169.254.169.254", true},  {"::192.168.1.1", true},     {"::2", true},
      {"::ffff:0:127.0.0.1", true}, {"::ffff:0:10.1.2.3", true}, {"::8.8.8.8", false},
      {"::ffff:0:8.8.8.8", false},  {"::1.1.1.1", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    EXPECT_EQ(refusedV6(c.address), c.refused);
  }
}

TEST(SsrfGuard, Nat64WellKnownAndLocalUsePrefixesFollowTheIpv4Rules) {
  const std::vector<Case> cases = {
      // 64:ff9b::/96
      {"64:ff9b::7f00:1", true},
      {"64:ff9b::127.0.0.1", true},
      {"64:ff9b::10.1.2.3", true},
      {"64:ff9b::169.254.169.254", true},
      {"64:ff9b::100.64.0.1", true},
      {"64:ff9b::0.0.0.0", true},
      {"64:ff9b::8.8.8.8", false},
      {"64:ff9b::93.184.216.34", false},
      // 64:ff9b:1::/48, /96 layout (IPv4 in the last 32 bits)
      {"64:ff9b:1::7f00:1", true},
      {"64:ff9b:1::192.168.0.1", true},
      {"64:ff9b:1:abcd::127.0.0.1", true},  // an operator's /96 inside the /48
      {"64:ff9b:1::8.8.8.8", false},
      // 64:ff9b:1::/48, /48 layout (bits 48-63 and 72-87; bits 64-71 are zero)
      {"64:ff9b:1:7f00:0:100::", true},        // 127.0.0.1
      {"64:ff9b:1:a00:0:100::", true},         // 10.0.0.1
      {"64:ff9b:1:808:8:800:808:808", false},  // 8.8.8.8 in both layouts
      // the prefixes' neighbours are ordinary IPv6 addresses
      {"64:ff9a::7f00:1", false},
      {"64:ff9b:2::7f00:1", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    EXPECT_EQ(refusedV6(c.address), c.refused);
  }
}

TEST(SsrfGuard, SixToFourFollowsTheIpv4Rules) {
  const std::vector<Case> cases = {
      {"2002:7f00:1::", true},       // 127.0.0.1
      {"2002:7f00:1::1", true},      // any host behind it
      {"2002:a01:203::1", true},     // 10.1.2.3
      {"2002:a9fe:a9fe::", true},    // 169.254.169.254
      {"2002:c0a8:101:1::1", true},  // 192.168.1.1
      {"2002:e000:1::", true},       // 224.0.0.1
      {"2002:808:808::1", false},    // 8.8.8.8
      {"2002:5db8:d822::1", false},  // 93.184.216.34
      {"2003:7f00:1::", false},      // not 6to4
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.address);
    EXPECT_EQ(refusedV6(c.address), c.refused);
  }
}

TEST(SsrfGuard, UnknownAddressFamiliesAreRefused) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  EXPECT_TRUE(isPrivateAddress(reinterpret_cast<const sockaddr*>(&sa)));
}

// HOOKPIPE_ALLOWED_TARGETS: private ranges receivers may be reached at nonetheless.
bool allowed(const AddressRanges& ranges, const std::string& text) {
  if (text.find(':') == std::string::npos) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &sa.sin_addr), 1) << text;
    return ranges.contains(reinterpret_cast<const sockaddr*>(&sa));
  }
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &sa.sin6_addr), 1) << text;
  return ranges.contains(reinterpret_cast<const sockaddr*>(&sa));
}

TEST(AllowedTargets, CidrsAndSingleAddressesOfBothFamiliesWithTheirEdges) {
  auto ranges = AddressRanges::parse(" 10.20.0.0/16, 192.168.1.7 ,fd12:3456::/32,172.16.0.0/13");
  ASSERT_TRUE(ranges.has_value()) << ranges.error();
  const std::vector<std::pair<std::string, bool>> cases = {
      {"10.19.255.255", false},
      {"10.20.0.0", true},
      {"10.20.255.255", true},
      {"10.21.0.0", false},
      {"192.168.1.7", true},
      {"192.168.1.6", false},
      {"192.168.1.8", false},
      {"172.16.0.1", true},  // /13: 172.16.0.0 .. 172.23.255.255
      {"172.23.255.255", true},
      {"172.24.0.0", false},
      {"fd12:3456::1", true},
      {"fd12:3456:ffff::1", true},
      {"fd12:3457::1", false},
      // IPv4-mapped IPv6 follows the IPv4 ranges, and only them.
      {"::ffff:10.20.3.4", true},
      {"::ffff:10.21.3.4", false},
      {"::ffff:192.168.1.7", true},
  };
  for (const auto& [address, want] : cases) EXPECT_EQ(allowed(*ranges, address), want) << address;
}

TEST(AllowedTargets, Ipv4RangesAdmitTheIpv6FormsThatCarryTheirAddresses) {
  auto ranges = AddressRanges::parse("10.20.0.0/16, 127.0.0.1");
  ASSERT_TRUE(ranges.has_value()) << ranges.error();
  const std::vector<std::pair<std::string, bool>> cases = {
      {"64:ff9b::10.20.3.4", true},
      {"64:ff9b::10.21.3.4", false},
      {"64:ff9b::7f00:1", true},
      {"64:ff9b::7f00:2", false},
      {"64:ff9b:1::10.20.0.1", true},
      {"64:ff9b:1:7f00:0:100::", false},  // /48 layout 127.0.0.1, /96 layout 0.0.0.0: private
      {"::127.0.0.1", true},
      {"::10.20.9.9", true},
      {"::ffff:0:10.20.9.9", true},
      {"2002:a14:101::1", true},  // 10.20.1.1
      {"2002:a15:101::1", false},
      {"::1", false},  // IPv6 loopback, not an IPv4-compatible address
  };
  for (const auto& [address, want] : cases) EXPECT_EQ(allowed(*ranges, address), want) << address;
  auto v6 = AddressRanges::parse("64:ff9b::/96");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(allowed(*v6, "64:ff9b::7f00:1")) << "an IPv6 range admits its own addresses";
}

TEST(AllowedTargets, EmptyListAllowsNothingAndZeroPrefixEverything) {
  auto none = AddressRanges::parse("");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(allowed(*none, "10.0.0.1"));
  auto all = AddressRanges::parse("0.0.0.0/0");
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(allowed(*all, "127.0.0.1"));
  EXPECT_TRUE(allowed(*all, "::ffff:127.0.0.1"));
  EXPECT_FALSE(allowed(*all, "::1")) << "an IPv4 range says nothing about IPv6";
}

TEST(AllowedTargets, BadEntriesAreNamed) {
  for (const auto& [list, says] : std::vector<std::pair<std::string, std::string>>{
           {"10.0.0.0/33", "'10.0.0.0/33': the prefix length must be 0..32"},
           {"fd00::/129", "'fd00::/129': the prefix length must be 0..128"},
           {"10.0.0.0/", "'10.0.0.0/': the prefix length must be 0..32"},
           {"10.0.0.0/x", "'10.0.0.0/x': the prefix length must be 0..32"},
           {"10.0.0.0/-1", "'10.0.0.0/-1': the prefix length must be 0..32"},
           {"10.0.0.0/8, example.com", "'example.com' is not an IPv4 or IPv6 address"},
           {"10.0.0", "'10.0.0' is not an IPv4 or IPv6 address"},
       }) {
    auto got = AddressRanges::parse(list);
    ASSERT_FALSE(got.has_value()) << list;
    EXPECT_EQ(got.error(), says);
  }
}

}  // namespace
}  // namespace hookpipe::net
