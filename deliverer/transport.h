#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/config/config.h"
#include "common/error.h"
#include "common/signing/signer.h"
#include "common/subscriptions/subscription.h"
#include "common/webhook/request.h"
#include "deliverer/metrics.h"
#include "deliverer/pending.h"

namespace hookpipe::deliverer {

// One HTTP attempt: in Transport's flight while out (at index `slot`), then back in its
// idle pool. Owns its easy handle, whose CURLOPT_PRIVATE points back here.
struct Transfer {
  Transfer() : easy(curl_easy_init()) {}
  ~Transfer() { curl_easy_cleanup(easy); }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  CURL* easy;
  Pending p;
  std::shared_ptr<const Subscription> sub;
  webhook::Request http;
  int64_t started_us = 0;  // steady clock
  int64_t started_ms = 0;  // wall clock
  std::size_t slot = 0;
};

// The HTTP side of one worker: a curl multi handle driven by one epoll_wait() on curl's
// sockets (CURLMOPT_SOCKETFUNCTION; only ready sockets go to curl_multi_socket_action) and
// on a wake pipe that librdkafka writes to when the consumer or producer queue gets work
// (the Deliverer hands wakeFd() to it), so the loop never sleeps on a timer. Transfers are
// pooled with their easy handles and buffers.
//
// Thread and lifecycle: made by Deliverer::create() and used only on that worker's thread;
// destroyed with the Deliverer, in-flight transfers first (before the multi handle).
class Transport {
 public:
  static Result<std::unique_ptr<Transport>> create(const Config& config, DelivererMetrics& metrics);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // The write end of the wake pipe, for rd_kafka_queue_io_event_enable().
  int wakeFd() const { return wake_fds_[1]; }

  // Sends `p` to `sub` (the caller has an EndpointGuard slot for it).
  void start(Pending p, std::shared_ptr<const Subscription> sub);
  // Waits up to `timeout_ms` for curl's sockets, curl's next timeout or the wake pipe, and
  // lets curl act on what is ready; finished transfers are then had from nextFinished().
  void drive(int timeout_ms);
  // A finished transfer, out of flight, with curl's result; null when there is none.
  // Give it back with recycle() once done with it.
  std::unique_ptr<Transfer> nextFinished(CURLcode& code);
  void recycle(std::unique_ptr<Transfer> t);

  std::size_t inFlight() const { return in_flight_.size(); }
  bool isInFlight(std::string_view delivery_id) const {
    return in_flight_ids_.contains(delivery_id);
  }
  // Transfers out for over a second (a hanging endpoint), recounted at most every 100 ms.
  std::size_t slowInFlight();
  // Rebalance: whether any transfer in flight matches; and letting those go unfinished
  // (`let_go` is called for each before it goes back to the pool).
  bool anyInFlight(const std::function<bool(const Pending&)>& match) const;
  void abandon(const std::function<bool(const Pending&)>& match,
               const std::function<void(Transfer&)>& let_go);

 private:
  Transport(const Config& config, DelivererMetrics& metrics);
  static int onCurlSocket(CURL* easy, curl_socket_t fd, int what, void* self,
                          void* socket_data) noexcept;
  static int onCurlTimer(CURLM* multi, long timeout_ms, void* self) noexcept;
  std::unique_ptr<Transfer> take();
  void putInFlight(std::unique_ptr<Transfer> t);
  std::unique_ptr<Transfer> takeFromFlight(Transfer* t);

  webhook::Options http_options_;
  DelivererMetrics& metrics_;
  signing::Signer signer_;
  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi_{nullptr, &curl_multi_cleanup};
  // Transfers are reused (each keeps its easy handle and buffers): in_flight_ holds the
  // ones out (each knows its index), idle_ the rest.
  std::vector<std::unique_ptr<Transfer>> in_flight_;
  std::vector<std::unique_ptr<Transfer>> idle_;
  std::unordered_set<std::string_view> in_flight_ids_;  // delivery ids of in_flight_ (views)
  std::size_t slow_in_flight_ = 0;
  std::chrono::steady_clock::time_point last_slow_count_;
  int wake_fds_[2] = {-1, -1};
  int epoll_fd_ = -1;
  // What epoll holds for each curl socket, by fd. A keep-alive connection that goes back
  // to curl's cache (CURL_POLL_REMOVE) stays registered, "parked", so the next request on
  // it costs one EPOLL_CTL_MOD instead of MOD+ADD+DEL; a parked socket that reports an
  // event (the server closed it) is removed then, and a closed one left epoll by itself.
  enum class FdState : uint8_t { kNone, kWatched, kParked };
  std::vector<FdState> fd_state_;
  std::chrono::steady_clock::time_point curl_deadline_ =
      std::chrono::steady_clock::time_point::max();
};

int64_t steadyUs();

}  // namespace hookpipe::deliverer
