#include "deliverer/transport.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "common/kafka/kafka.h"

namespace hookpipe::deliverer {
namespace {

constexpr auto kSlowAfter = std::chrono::milliseconds(1000);

}  // namespace

int64_t steadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Transport::Transport(const Config& config, DelivererMetrics& metrics)
    : http_options_(webhook::requestOptions(config)), metrics_(metrics) {}

Transport::~Transport() {
  for (auto& t : in_flight_) curl_multi_remove_handle(multi_.get(), t->easy);
  metrics_.in_flight.sub(static_cast<int64_t>(in_flight_.size()));
  in_flight_.clear();  // the easy handles go before the multi handle
  idle_.clear();
  for (int fd : wake_fds_)
    if (fd >= 0) ::close(fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Result<std::unique_ptr<Transport>> Transport::create(const Config& config,
                                                     DelivererMetrics& metrics) {
  std::unique_ptr<Transport> t(new Transport(config, metrics));
  t->multi_.reset(curl_multi_init());
  if (!t->multi_) return fail("curl_multi_init failed");
  curl_multi_setopt(t->multi_.get(), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  // Event-driven curl: it tells us which sockets to watch and when its next timeout is,
  // and only the sockets that are ready are processed (curl_multi_perform would walk
  // every transfer on every call, a cost that grows with the number in flight).
  curl_multi_setopt(t->multi_.get(), CURLMOPT_SOCKETFUNCTION, &Transport::onCurlSocket);
  curl_multi_setopt(t->multi_.get(), CURLMOPT_SOCKETDATA, t.get());
  curl_multi_setopt(t->multi_.get(), CURLMOPT_TIMERFUNCTION, &Transport::onCurlTimer);
  curl_multi_setopt(t->multi_.get(), CURLMOPT_TIMERDATA, t.get());
  t->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (t->epoll_fd_ < 0) return fail("epoll_create1 failed");
  if (::pipe2(t->wake_fds_, O_NONBLOCK | O_CLOEXEC) != 0) return fail("pipe2 failed");
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.fd = t->wake_fds_[0];
  if (::epoll_ctl(t->epoll_fd_, EPOLL_CTL_ADD, t->wake_fds_[0], &wake_event) != 0)
    return fail("epoll_ctl failed");
  return t;
}

std::unique_ptr<Transfer> Transport::take() {
  if (idle_.empty()) return std::make_unique<Transfer>();
  auto t = std::move(idle_.back());
  idle_.pop_back();
  // No curl_easy_reset(): webhook::Request::prepare() sets every option it uses each
  // time, and a reset costs a round of frees and allocations per request.
  return t;
}

void Transport::recycle(std::unique_ptr<Transfer> t) {
  t->sub.reset();
  idle_.push_back(std::move(t));
}

void Transport::putInFlight(std::unique_ptr<Transfer> t) {
  t->slot = in_flight_.size();
  in_flight_ids_.insert(t->p.meta.delivery_id);
  in_flight_.push_back(std::move(t));
  metrics_.in_flight.add(1);
}

std::unique_ptr<Transfer> Transport::takeFromFlight(Transfer* t) {
  const std::size_t slot = t->slot;
  std::unique_ptr<Transfer> owned = std::move(in_flight_[slot]);
  if (slot + 1 != in_flight_.size()) {
    in_flight_[slot] = std::move(in_flight_.back());
    in_flight_[slot]->slot = slot;
  }
  in_flight_.pop_back();
  in_flight_ids_.erase(owned->p.meta.delivery_id);
  curl_multi_remove_handle(multi_.get(), owned->easy);
  metrics_.in_flight.sub(1);
  return owned;
}

void Transport::start(Pending p, std::shared_ptr<const Subscription> sub) {
  auto t = take();
  t->p = std::move(p);
  t->sub = std::move(sub);
  records::DeliveryMeta& meta = t->p.meta;
  const int64_t now = kafka::nowMs();
  if (meta.first_attempt_ms == 0) meta.first_attempt_ms = now;
  meta.parked_since_ms = 0;  // it goes out: a later pause starts a new max_pause clock
  t->http.prepare(t->easy, *t->sub, meta.delivery_id, t->p.msg.value, signer_, http_options_, now);
  curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t.get());
  t->started_ms = now;
  t->started_us = steadyUs();
  curl_multi_add_handle(multi_.get(), t->easy);
  putInFlight(std::move(t));
}

int Transport::onCurlSocket(CURL*, curl_socket_t fd, int what, void* self, void*) noexcept {
  auto* d = static_cast<Transport*>(self);
  if (fd < 0) return 0;
  if (static_cast<std::size_t>(fd) >= d->fd_state_.size())
    d->fd_state_.resize(static_cast<std::size_t>(fd) + 64, FdState::kNone);
  FdState& state = d->fd_state_[static_cast<std::size_t>(fd)];
  if (what == CURL_POLL_REMOVE) {
    if (state == FdState::kWatched) state = FdState::kParked;  // see fd_state_
    return 0;
  }
  epoll_event ev{};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  // Parked (or watched) and still open: MOD. Closed meanwhile, its number now another
  // socket's: MOD fails with ENOENT and it is added.
  const bool modified =
      state != FdState::kNone && ::epoll_ctl(d->epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
  if (!modified && ::epoll_ctl(d->epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
    ::epoll_ctl(d->epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  state = FdState::kWatched;
  return 0;
}

int Transport::onCurlTimer(CURLM*, long timeout_ms, void* self) noexcept {
  auto* d = static_cast<Transport*>(self);
  d->curl_deadline_ =
      timeout_ms < 0 ? std::chrono::steady_clock::time_point::max()
                     : std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

void Transport::drive(int timeout_ms) {
  const auto now = std::chrono::steady_clock::now();
  int wait_ms = timeout_ms;
  if (curl_deadline_ != std::chrono::steady_clock::time_point::max())
    wait_ms = static_cast<int>(std::clamp<int64_t>(
        std::chrono::ceil<std::chrono::milliseconds>(curl_deadline_ - now).count(), 0, timeout_ms));
  // Wake on curl's sockets, or on the pipe librdkafka writes to when messages or
  // delivery reports are waiting.
  std::array<epoll_event, 128> events;
  const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
  int running = 0;
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_fds_[0]) {
      char buf[64];
      while (::read(wake_fds_[0], buf, sizeof buf) > 0) {
      }
      continue;
    }
    if (static_cast<std::size_t>(fd) < fd_state_.size() &&
        fd_state_[static_cast<std::size_t>(fd)] == FdState::kParked) {
      // An idle cached connection stirred (closed by the server, most likely): stop
      // watching it; curl finds out when it next picks the connection.
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      fd_state_[static_cast<std::size_t>(fd)] = FdState::kNone;
      continue;
    }
    int flags = 0;
    if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(multi_.get(), fd, flags, &running);
  }
  if (std::chrono::steady_clock::now() >= curl_deadline_) {
    curl_deadline_ = std::chrono::steady_clock::time_point::max();  // curl sets the next
    curl_multi_socket_action(multi_.get(), CURL_SOCKET_TIMEOUT, 0, &running);
  }
}

std::unique_ptr<Transfer> Transport::nextFinished(CURLcode& code) {
  int queued = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_.get(), &queued)) {
    if (m->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
    code = m->data.result;
    return takeFromFlight(t);
  }
  return nullptr;
}

std::size_t Transport::slowInFlight() {
  if (auto now = std::chrono::steady_clock::now(); now - last_slow_count_ > kSlowAfter / 10) {
    last_slow_count_ = now;
    const int64_t cutoff = steadyUs() - kSlowAfter.count() * 1000;
    slow_in_flight_ = static_cast<std::size_t>(
        std::count_if(in_flight_.begin(), in_flight_.end(),
                      [cutoff](const auto& t) { return t->started_us < cutoff; }));
  }
  return slow_in_flight_;
}

bool Transport::anyInFlight(const std::function<bool(const Pending&)>& match) const {
  return std::any_of(in_flight_.begin(), in_flight_.end(),
                     [&](const auto& t) { return match(t->p); });
}

void Transport::abandon(const std::function<bool(const Pending&)>& match,
                        const std::function<void(Transfer&)>& let_go) {
  for (std::size_t i = in_flight_.size(); i-- > 0;) {
    if (!match(in_flight_[i]->p)) continue;
    auto t = takeFromFlight(in_flight_[i].get());
    let_go(*t);
    t->p = {};
    recycle(std::move(t));
  }
}

}  // namespace hookpipe::deliverer
