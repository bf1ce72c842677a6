// libFuzzer entry point (clang builds only): tests/CMakeLists.txt builds one executable per
// target, with HOOKPIPE_FUZZ_ONE naming its body in targets.h.
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return hookpipe::fuzz::HOOKPIPE_FUZZ_ONE(data, size);
}
