// libFuzzer entry point: event validation and routing (clang builds only).
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return hookpipe::fuzz::eventOne(data, size);
}
