#include "common/kafka/hand_off.h"

#include "common/log/log.h"

namespace hookpipe::kafka {

void HandOff::send(std::string topic, std::string key, std::string value, HeaderList headers,
                   std::function<void()> on_acked) {
  attempt(std::make_shared<Job>(Job{std::move(topic), std::move(key), std::move(value),
                                    std::move(headers), std::move(on_acked)}));
}

void HandOff::attempt(std::shared_ptr<Job> job) {
  auto r = producer_.produceBlocking(
      job->topic, job->key, job->value, job->headers, [this, job](std::optional<Error> err) {
        if (!err) {
          if (job->on_acked) job->on_acked();
          return;
        }
        if (++job->failures % 100 == 1)
          logger("kafka")->warn("produce to {} failed, trying again failures={} error={}",
                                job->topic, job->failures, err->message);
        resend_.push_back(job);
      });
  if (!r) {
    if (++job->failures % 100 == 1)
      logger("kafka")->error("produce to {} refused, trying again error={}", job->topic,
                             r.error().message);
    resend_.push_back(std::move(job));
  }
}

bool HandOff::pumpUntil(const std::function<bool()>& done, std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (!done() && std::chrono::steady_clock::now() < deadline) pump(10);
  return done();
}

void HandOff::pump(int timeout_ms) {
  producer_.poll(timeout_ms);
  for (std::size_t n = resend_.size(); n > 0 && !resend_.empty(); --n) {
    auto job = std::move(resend_.front());
    resend_.pop_front();
    attempt(std::move(job));
  }
}

}  // namespace hookpipe::kafka
