// GET /v1/stream against the producer process on the real broker: many clients at once, a
// client that stops reading, a reconnect with Last-Event-ID, filters and bad input.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/harness.h"
#include "support/poll.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

struct Frame {
  std::string id;
  std::string event;
  std::string data;
};

// A server-sent-events client on a plain socket: reads whatever is there when pumped,
// undoes the chunked encoding, and splits the body into frames.
class SseClient {
 public:
  ~SseClient() { disconnect(); }

  // Sends the request; `receive_buffer` > 0 shrinks the socket's receive buffer (a client
  // that reads slowly fills it fast).
  bool open(unsigned short port, const std::string& target, const std::string& last_event_id = "",
            int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    if (receive_buffer > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    std::string req =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    if (!last_event_id.empty()) req += "Last-Event-ID: " + last_event_id + "\r\n";
    req += "\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return false;
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    return true;
  }
  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

  // Reads what is available; false once the server closed the connection.
  bool pump() {
    if (fd_ < 0) return false;
    char buf[65536];
    while (true) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        raw_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) closed_ = true;
      break;
    }
    parse();
    return !closed_;
  }

  bool closed() const { return closed_; }
  long status() const { return status_; }
  const std::string& head() const { return head_; }
  const std::vector<Frame>& frames() const { return frames_; }
  int comments(const std::string& text) const {
    auto it = comments_.find(text);
    return it == comments_.end() ? 0 : it->second;
  }
  std::vector<Frame> framesOf(const std::string& event) const {
    std::vector<Frame> out;
    for (const auto& f : frames_)
      if (f.event == event) out.push_back(f);
    return out;
  }

 private:
  void parse() {
    if (status_ == 0) {
      const auto end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_ = raw_.substr(0, end);
      status_ = std::stol(head_.substr(9, 3));
      raw_.erase(0, end + 4);
    }
    // Chunks: "<hex size>\r\n<bytes>\r\n"; a non-streamed answer (an error) is plain.
    if (head_.find("chunked") == std::string::npos) {
      body_ += raw_;
      raw_.clear();
    }
    while (true) {
      if (head_.find("chunked") == std::string::npos) break;
      const auto line = raw_.find("\r\n");
      if (line == std::string::npos) break;
      const std::size_t size = std::stoul(raw_.substr(0, line), nullptr, 16);
      if (raw_.size() < line + 2 + size + 2) break;
      body_.append(raw_, line + 2, size);
      raw_.erase(0, line + 2 + size + 2);
    }
    while (true) {
      const auto end = body_.find("\n\n");
      if (end == std::string::npos) break;
      const std::string block = body_.substr(0, end);
      body_.erase(0, end + 2);
      Frame f;
      bool any = false;
      std::size_t start = 0;
      while (start <= block.size()) {
        auto nl = block.find('\n', start);
        const std::string l = block.substr(start, nl == std::string::npos ? nl : nl - start);
        if (!l.empty() && l[0] == ':') {
          comments_[l.substr(l.size() > 1 && l[1] == ' ' ? 2 : 1)]++;
        } else if (l.rfind("id: ", 0) == 0) {
          f.id = l.substr(4);
        } else if (l.rfind("event: ", 0) == 0) {
          f.event = l.substr(7);
          any = true;
        } else if (l.rfind("data: ", 0) == 0) {
          if (!f.data.empty()) f.data += '\n';
          f.data += l.substr(6);
        }
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
      if (any) frames_.push_back(std::move(f));
    }
  }

  int fd_ = -1;
  std::string raw_;
  std::string head_;
  std::string body_;
  long status_ = 0;
  bool closed_ = false;
  std::vector<Frame> frames_;
  std::map<std::string, int> comments_;
};

// Pumps every client until `done` holds or the deadline passes.
bool pumpUntil(std::vector<SseClient*> clients, const std::function<bool()>& done,
               std::chrono::milliseconds timeout) {
  return testkit::pollUntil(
      [&] {
        for (auto* c : clients) c->pump();
        return done();
      },
      timeout, 20ms);
}

std::string eventJson(const std::string& type, int n, std::size_t padding = 0) {
  return R"({"type":")" + type + R"(","data":{"n":)" + std::to_string(n) + R"(,"pad":")" +
         std::string(padding, 'x') + "\"}}";
}

class StreamTest : public PipelineFixture {
 protected:
  std::string streamPath(const std::string& query = "") {
    return "/v1/stream" + (query.empty() ? "" : "?" + query);
  }
  // Events' ids, in the order the client saw them.
  static std::vector<std::string> eventIds(const SseClient& c) {
    std::vector<std::string> ids;
    for (const auto& f : c.framesOf("event")) ids.push_back(jsonField(f.data, "id"));
    return ids;
  }
};

TEST_F(StreamTest, TwoHundredClientsEachReceiveEveryPublishedEvent) {
  startApi();
  constexpr int kClients = 200;
  constexpr int kEvents = 60;
  std::vector<std::unique_ptr<SseClient>> clients;
  std::vector<SseClient*> all;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<SseClient>());
    ASSERT_TRUE(clients.back()->open(pipeline_->apiPort(), streamPath("types=fanout.*")));
    all.push_back(clients.back().get());
  }
  ASSERT_TRUE(pumpUntil(
      all,
      [&] {
        for (auto* c : all)
          if (c->comments("connected") == 0) return false;
        return true;
      },
      60s))
      << pipeline_->logs();
  for (auto* c : all) ASSERT_EQ(c->status(), 200) << c->head();
  std::set<std::string> published;
  for (int i = 0; i < kEvents; ++i) {
    published.insert(publish(eventJson("fanout.test", i)));
    publish(eventJson("other.type", i));  // filtered out by types=fanout.*
  }
  ASSERT_TRUE(pumpUntil(
      all,
      [&] {
        for (auto* c : all)
          if (c->framesOf("event").size() < kEvents) return false;
        return true;
      },
      60s))
      << pipeline_->logs();
  // Nothing more than those (the other type never comes).
  EXPECT_TRUE(testkit::holdsFor(
      [&] {
        for (auto* c : all) {
          c->pump();
          if (c->framesOf("event").size() != kEvents) return false;
        }
        return true;
      },
      500ms));
  for (auto* c : all) {
    const auto ids = eventIds(*c);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), published);
    EXPECT_FALSE(c->closed());
  }
  // Each frame's id is a position; they differ from frame to frame.
  std::set<std::string> positions;
  for (const auto& f : all[0]->framesOf("event")) positions.insert(f.id);
  EXPECT_EQ(positions.size(), static_cast<std::size_t>(kEvents));
}

TEST_F(StreamTest, ReconnectWithLastEventIdResumesWithoutGapOrRepeat) {
  startApi();
  SseClient first;
  ASSERT_TRUE(first.open(pipeline_->apiPort(), streamPath("types=resume.*")));
  ASSERT_TRUE(pumpUntil(
      {&first}, [&] { return first.comments("connected") > 0; }, 60s));
  std::vector<std::string> published;
  for (int i = 0; i < 30; ++i) published.push_back(publish(eventJson("resume.test", i)));
  ASSERT_TRUE(pumpUntil(
      {&first}, [&] { return first.framesOf("event").size() >= 30; }, 60s));
  const auto seen_first = eventIds(first);
  const std::string last_id = first.framesOf("event").back().id;
  first.disconnect();
  // Published while no client is connected, and some of another type in between.
  for (int i = 30; i < 60; ++i) {
    published.push_back(publish(eventJson("resume.test", i)));
    if (i % 5 == 0) publish(eventJson("noise.test", i));
  }
  SseClient second;
  ASSERT_TRUE(second.open(pipeline_->apiPort(), streamPath("types=resume.*"), last_id));
  ASSERT_TRUE(pumpUntil(
      {&second}, [&] { return second.framesOf("event").size() >= 30; }, 60s))
      << pipeline_->logs();
  // Published after the reconnect: comes through the live tail after the catch-up.
  for (int i = 60; i < 70; ++i) published.push_back(publish(eventJson("resume.test", i)));
  ASSERT_TRUE(pumpUntil(
      {&second}, [&] { return second.framesOf("event").size() >= 40; }, 60s));
  EXPECT_TRUE(testkit::holdsFor(
      [&] {
        second.pump();
        return second.framesOf("event").size() == 40;
      },
      500ms));
  auto all_seen = seen_first;
  for (const auto& id : eventIds(second)) all_seen.push_back(id);
  // Every event exactly once across both connections.
  EXPECT_EQ(all_seen.size(), published.size());
  EXPECT_EQ(std::set<std::string>(all_seen.begin(), all_seen.end()),
            std::set<std::string>(published.begin(), published.end()));
}

TEST_F(StreamTest, ClientThatStopsReadingIsDroppedWithAReasonAndOthersGoOn) {
  startApi();
  SseClient stalled;
  SseClient reader;
  ASSERT_TRUE(stalled.open(pipeline_->apiPort(), streamPath("types=bulk.*"), "", 4096));
  ASSERT_TRUE(reader.open(pipeline_->apiPort(), streamPath("types=bulk.*")));
  ASSERT_TRUE(pumpUntil(
      {&stalled, &reader},
      [&] { return stalled.comments("connected") > 0 && reader.comments("connected") > 0; }, 60s));
  // About 16 MB: beyond the kernel's socket buffers and the stream's 256 KiB allowance.
  constexpr int kEvents = 320;
  for (int i = 0; i < kEvents; ++i) {
    publish(eventJson("bulk.test", i, 50'000));
    reader.pump();  // the stalled one is never read meanwhile
  }
  ASSERT_TRUE(pumpUntil(
      {&reader}, [&] { return reader.framesOf("event").size() >= kEvents; }, 120s))
      << pipeline_->logs();
  EXPECT_FALSE(reader.closed());
  // The API still answers at once.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(httpRequest("GET", pipeline_->apiUrl("/healthz"), "").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  // The stalled client, read at last: a prefix of the events, then `dropped`, then the end.
  ASSERT_TRUE(pumpUntil(
      {&stalled}, [&] { return stalled.closed(); }, 60s));
  ASSERT_FALSE(stalled.frames().empty());
  EXPECT_EQ(stalled.frames().back().event, "dropped");
  EXPECT_NE(stalled.frames().back().data.find("\"reason\":\"slow_client\""), std::string::npos);
  EXPECT_LT(stalled.framesOf("event").size(), static_cast<std::size_t>(kEvents));
}

TEST_F(StreamTest, IdleClientsGetHeartbeats) {
  pipeline_->start("producer", "1", {{"HOOKPIPE_STREAM_HEARTBEAT", "200ms"}});
  ASSERT_TRUE(eventually(
      [&] { return httpRequest("GET", pipeline_->apiUrl("/healthz"), "").status == 200; }, 60s));
  SseClient c;
  ASSERT_TRUE(c.open(pipeline_->apiPort(), streamPath()));
  ASSERT_TRUE(pumpUntil(
      {&c}, [&] { return c.comments("heartbeat") >= 3; }, 30s))
      << pipeline_->logs();
  EXPECT_NE(c.head().find("text/event-stream"), std::string::npos);
  EXPECT_TRUE(c.frames().empty());
}

TEST_F(StreamTest, SubscriptionFilterPassesOnlyTheEventsItWouldReceive) {
  startApi();
  const auto sub =
      subscribe(R"({"url":"http://127.0.0.1:9/x","events":["invoice.paid"],"tenant":"acme"})");
  SseClient c;
  ASSERT_TRUE(c.open(pipeline_->apiPort(), streamPath("kinds=events&subscription=" + sub.id)));
  ASSERT_TRUE(pumpUntil(
      {&c}, [&] { return c.comments("connected") > 0; }, 60s));
  publish(R"({"type":"invoice.paid","tenant":"other","data":{}})");
  publish(R"({"type":"invoice.created","tenant":"acme","data":{}})");
  const std::string wanted = publish(R"({"type":"invoice.paid","tenant":"acme","data":{}})");
  ASSERT_TRUE(pumpUntil(
      {&c}, [&] { return !c.framesOf("event").empty(); }, 60s));
  EXPECT_TRUE(testkit::holdsFor(
      [&] {
        c.pump();
        return c.framesOf("event").size() == 1;
      },
      500ms));
  EXPECT_EQ(eventIds(c), std::vector<std::string>{wanted});
}

TEST_F(StreamTest, BadParametersAreRefusedWithTheParameterNamed) {
  startApi();
  auto get = [&](const std::string& query, const std::vector<std::string>& headers = {}) {
    return httpRequest("GET", pipeline_->apiUrl(streamPath(query)), "", "application/json",
                       headers);
  };
  auto r = get("kinds=everything");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("kinds"), std::string::npos) << r.body;
  r = get("colour=red");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("colour"), std::string::npos) << r.body;
  r = get("", {"Last-Event-ID: not-a-position"});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Last-Event-ID"), std::string::npos) << r.body;
  r = get("last_event_id=1,2.x");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("last_event_id"), std::string::npos) << r.body;
  // Well formed, but not as many partitions as the topics have.
  r = get("", {"Last-Event-ID: 1,2,3,4,5,6,7,8,9.1"});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("partitions"), std::string::npos) << r.body;
  // As many partitions as the topics have, but past the end of the log.
  std::string beyond;
  for (int i = 0; i < pipeline_->config().events_partitions; ++i) {
    if (i > 0) beyond += ',';
    beyond += "999999999";
  }
  beyond += ".";
  for (int i = 0; i < pipeline_->config().attempts_partitions; ++i) beyond += (i ? ",0" : "0");
  r = get("", {"Last-Event-ID: " + beyond});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("beyond its end"), std::string::npos) << r.body;
  r = get("subscription=sub_nope");
  EXPECT_EQ(r.status, 404) << r.body;
}

}  // namespace
}  // namespace hookpipe::testing
