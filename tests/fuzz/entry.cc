// libFuzzer entry point (clang builds only): tests/CMakeLists.txt builds one executable per
// target, with HOOKPIPE_FUZZ_ONE naming its body in targets.h.
#include <expected>
#include <string>
#include <type_traits>

#include "tests/fuzz/targets.h"

// The fuzz preset declares libstdc++'s <expected> to clang 16 by defining __cpp_concepts
// (tests/README.md). That is only sound if clang honours the constrained special members
// <expected> is built on (P0848): checked here, in every clang build of the fuzzers.
static_assert(std::is_trivially_destructible_v<std::expected<int, int>>);
static_assert(std::is_trivially_copy_constructible_v<std::expected<int, int>>);
static_assert(std::is_trivially_destructible_v<std::expected<void, int>>);
static_assert(!std::is_trivially_destructible_v<std::expected<std::string, int>>);
static_assert(!std::is_trivially_copy_constructible_v<std::expected<int, std::string>>);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return hookpipe::fuzz::HOOKPIPE_FUZZ_ONE(data, size);
}
