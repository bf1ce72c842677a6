// libFuzzer entry point: filter compilation and evaluation (clang builds only).
#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  return hookpipe::fuzz::filterOne(data, size);
}
