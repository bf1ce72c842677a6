#pragma once

#include <chrono>
#include <cstdint>

#include "common/kafka/kafka.h"

namespace hookpipe::deliverer {

// The time admission decides by, behind an interface so that tests drive it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowMs() const = 0;     // wall clock (due times travel in records)
  virtual int64_t steadyMs() const = 0;  // for intervals
};

class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override { return kafka::nowMs(); }
  int64_t steadyMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace hookpipe::deliverer
