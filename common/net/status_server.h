#pragma once

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <exception>
#include <utility>

// The serving loop of hookpipe's own webhook receivers: `hookpipe loadtest`'s receiver
// (common/loadtest/receiver.cc) and the benchmarks' sinks (benchmarks/fast_sink.h,
// chaos_receiver.h). Boost.Beast on coroutines, HTTP/1.1 keep-alive, and every answer a
// bare status: what a webhook sender looks at.
namespace hookpipe::net {

using StatusRequest = boost::beast::http::request<boost::beast::http::string_body>;

namespace detail {

template <typename Answer>
boost::asio::awaitable<void> answerConnection(boost::asio::ip::tcp::socket socket, Answer answer) {
  namespace http = boost::beast::http;
  boost::beast::flat_buffer buffer;
  try {
    for (;;) {
      StatusRequest req;
      co_await http::async_read(socket, buffer, req, boost::asio::use_awaitable);
      const int status = co_await answer(std::as_const(req));
      http::response<http::empty_body> res{static_cast<http::status>(status), req.version()};
      res.keep_alive(req.keep_alive());
      res.content_length(0);
      co_await http::async_write(socket, res, boost::asio::use_awaitable);
      if (!req.keep_alive()) break;
    }
  } catch (const std::exception&) {
    // the peer closed, or the io_context is stopping
  }
}

}  // namespace detail

// Accepts on `acceptor` until its io_context stops, and answers each connection's
// requests in turn with the status `answer` gives, without a body. `answer` is called on
// the acceptor's executor as `boost::asio::awaitable<int>(const StatusRequest&)`: it may
// wait (co_await a timer) before it answers. Each connection keeps its own copy of it.
template <typename Answer>
boost::asio::awaitable<void> serveStatuses(boost::asio::ip::tcp::acceptor& acceptor,
                                           Answer answer) {
  for (;;) {
    auto socket = co_await acceptor.async_accept(boost::asio::use_awaitable);
    socket.set_option(boost::asio::ip::tcp::no_delay(true));
    boost::asio::co_spawn(acceptor.get_executor(),
                          detail::answerConnection(std::move(socket), answer),
                          boost::asio::detached);
  }
}

}  // namespace hookpipe::net
