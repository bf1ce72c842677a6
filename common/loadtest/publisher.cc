#include "common/loadtest/publisher.h"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "common/kafka/kafka.h"

namespace hookpipe::loadtest {
namespace {

using Clock = std::chrono::steady_clock;

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t appendBody(char* data, size_t size, size_t n, void* user) noexcept {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// One HTTP request slot: an easy handle kept for its connection, the body it sends and the
// answer it reads.
struct Slot {
  std::unique_ptr<CURL, EasyDeleter> easy{curl_easy_init()};
  std::string body;
  std::string answer;
  uint64_t events = 0;
  bool busy = false;
};

std::string snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void publishHttp(const Options& o, const EventSpec& spec, PublishCounters& counters,
                 const std::atomic<bool>& stop) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(),
                                                              &curl_multi_cleanup);
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  {
    curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
    list = curl_slist_append(list, "Expect:");
    if (!o.token.empty())
      list = curl_slist_append(list, ("Authorization: Bearer " + o.token).c_str());
    headers.reset(list);
  }
  const std::string url = o.api + (o.batch > 1 ? "/v1/events/batch" : "/v1/events");
  std::vector<Slot> slots(static_cast<std::size_t>(o.concurrency));
  for (auto& s : slots) {
    CURL* e = s.easy.get();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, appendBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s.answer);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &s);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  }

  const auto start = Clock::now();
  const auto end = start + o.duration;
  uint64_t seq = 0;
  int in_flight = 0;
  counters.first_send_us = wallMicros();
  for (;;) {
    const auto now = Clock::now();
    const bool sending = now < end && !stop;
    // Fill free slots with whatever is due.
    while (sending && in_flight < o.concurrency && dueAt(start, o.rate_per_s, seq) <= now) {
      Slot* slot = nullptr;
      for (auto& s : slots)
        if (!s.busy) {
          slot = &s;
          break;
        }
      const int64_t sent_us = wallMicros();
      slot->body.clear();
      slot->answer.clear();
      if (o.batch > 1) {
        slot->body += '[';
        for (int i = 0; i < o.batch; ++i) {
          if (i > 0) slot->body += ',';
          slot->body += eventJson(spec, seq++, sent_us);
        }
        slot->body += ']';
        slot->events = static_cast<uint64_t>(o.batch);
      } else {
        slot->body = eventJson(spec, seq++, sent_us);
        slot->events = 1;
      }
      curl_easy_setopt(slot->easy.get(), CURLOPT_POSTFIELDS, slot->body.c_str());
      curl_easy_setopt(slot->easy.get(), CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(slot->body.size()));
      slot->busy = true;
      ++in_flight;
      ++counters.requests;
      curl_multi_add_handle(multi.get(), slot->easy.get());
    }
    if (!sending && in_flight == 0) break;
    int running = 0;
    curl_multi_perform(multi.get(), &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &slot);
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      const CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi.get(), msg->easy_handle);
      slot->busy = false;
      --in_flight;
      uint64_t accepted = 0;
      if (code != CURLE_OK) {
        counters.noteError(std::string("transport: ") + curl_easy_strerror(code));
      } else if (o.batch == 1 && status == 202) {
        accepted = 1;
      } else if (o.batch > 1 && status == 200) {
        accepted = std::min(acceptedInBatchAnswer(slot->answer).value_or(0), slot->events);
        if (accepted < slot->events)
          counters.noteError("batch: " + std::to_string(slot->events - accepted) +
                             " items refused: " + snippet(slot->answer));
      } else {
        counters.noteError("HTTP " + std::to_string(status) + ": " + snippet(slot->answer));
      }
      counters.published += accepted;
      counters.errors += slot->events - accepted;
      if (accepted > 0) counters.last_accept_us = wallMicros();
    }
    // Sleep until the next event is due or an answer comes, at most 50 ms.
    auto wait = std::chrono::milliseconds(50);
    if (sending && in_flight < o.concurrency) {
      const auto until = dueAt(start, o.rate_per_s, seq) - Clock::now();
      wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(until),
                        std::chrono::milliseconds(0), wait);
    }
    if (wait.count() > 0 || in_flight > 0)
      curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
}

void publishKafka(const Options& o, const Config& config, const EventSpec& spec,
                  PublishCounters& counters, const std::atomic<bool>& stop) {
  auto producer = kafka::Producer::create(config);
  if (!producer) {
    counters.noteError("kafka: " + producer.error().message);
    return;
  }
  const std::string topic = config.topics.events();
  const auto start = Clock::now();
  const auto end = start + o.duration;
  uint64_t seq = 0;
  counters.first_send_us = wallMicros();
  while (!stop) {
    const auto now = Clock::now();
    if (now >= end) break;
    while (dueAt(start, o.rate_per_s, seq) <= now && !stop) {
      const uint64_t n = seq++;
      const std::string body = eventJson(spec, n, wallMicros());
      const std::string key = "lt_" + spec.run + "_" + std::to_string(n);
      auto done = [&counters](std::optional<Error> error) {
        if (error) {
          ++counters.errors;
          counters.noteError("kafka: " + error->message);
        } else {
          ++counters.published;
          counters.last_accept_us = wallMicros();
        }
      };
      ++counters.requests;
      if (auto r = (*producer)->produceBlocking(topic, key, body, {}, done); !r) {
        ++counters.errors;
        counters.noteError("kafka: " + r.error().message);
      }
    }
    const auto until = dueAt(start, o.rate_per_s, seq) - Clock::now();
    const auto ms = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(until),
                               std::chrono::milliseconds(0), std::chrono::milliseconds(50));
    (*producer)->poll(static_cast<int>(ms.count()));
  }
  if (!(*producer)->flush(std::chrono::seconds(30)))
    counters.noteError("kafka: not every event was acknowledged within 30 s");
}

}  // namespace

void PublishCounters::noteError(std::string message) {
  std::lock_guard lock(mu_);
  last_error_ = std::move(message);
}

std::string PublishCounters::lastError() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Clock::time_point dueAt(Clock::time_point start, double rate_per_s, uint64_t seq) {
  return start + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(seq) / rate_per_s));
}

std::optional<uint64_t> acceptedInBatchAnswer(const std::string& body) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* accepted = v.as_object().if_contains("accepted");
  if (!accepted || !accepted->is_int64() || accepted->as_int64() < 0) return std::nullopt;
  return static_cast<uint64_t>(accepted->as_int64());
}

void publish(const Options& options, const Config& config, const EventSpec& spec,
             PublishCounters& counters, const std::atomic<bool>& stop) {
  if (options.via == Via::kKafka)
    publishKafka(options, config, spec, counters, stop);
  else
    publishHttp(options, spec, counters, stop);
}

}  // namespace hookpipe::loadtest
