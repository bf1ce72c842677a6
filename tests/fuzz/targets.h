#pragma once

#include <cstddef>
#include <cstdint>

// The fuzz targets' bodies, shared by the libFuzzer entry points (clang builds) and the
// corpus replay unit test (every build). Each returns 0 and must never crash, leak or
// trip a sanitizer, whatever the bytes.
namespace hookpipe::fuzz {

// Compiles the bytes as a filter; when they compile, evaluates the filter on a few
// fixed events.
int filterOne(const uint8_t* data, std::size_t size);
// Validates the bytes as an event (json::EventParser); when valid, routes it through an
// index of subscriptions with tenants and filters, and checks the index against a
// linear scan.
int eventOne(const uint8_t* data, std::size_t size);

}  // namespace hookpipe::fuzz
