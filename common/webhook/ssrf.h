#pragma once

#include <sys/socket.h>

namespace hookpipe::webhook {

// True when the address is one webhooks must not reach by default: loopback, private
// (RFC 1918, fc00::/7), link-local, CGNAT (100.64/10), multicast, unspecified,
// broadcast, and the same ranges behind IPv4-mapped IPv6 addresses.
bool isPrivateAddress(const sockaddr* addr);

}  // namespace hookpipe::webhook
