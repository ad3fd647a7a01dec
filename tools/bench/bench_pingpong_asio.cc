// The ping-pong on Boost.Asio: completion handlers, one io_context, one thread — Asio's
// own idiom at its fastest. On Linux on its io_uring backend (BOOST_ASIO_HAS_IO_URING and
// BOOST_ASIO_DISABLE_EPOLL, set for this TU only by CMake); on Windows on its I/O
// completion port backend, which is what an io_context is there.
#include <array>
#include <memory>
#include <vector>

// GCC 12 at -O2 reports -Wnull-dereference false positives inside Asio's scheduler once it
// is inlined here; the diagnostic is silenced for Asio's own lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#pragma GCC diagnostic pop

#include "bench_pingpong.h"

namespace restrack_bench {

namespace {

using boost::asio::ip::tcp;

class EchoSession : public std::enable_shared_from_this<EchoSession> {
 public:
  explicit EchoSession(tcp::socket socket) : socket_(std::move(socket)) {}
  void read() {
    socket_.async_read_some(
        boost::asio::buffer(data_),
        [self = shared_from_this()](boost::system::error_code error, std::size_t count) {
          if (!error) self->write(count);
        });
  }

 private:
  void write(std::size_t count) {
    boost::asio::async_write(
        socket_, boost::asio::buffer(data_, count),
        [self = shared_from_this()](boost::system::error_code error, std::size_t) {
          if (!error) self->read();
        });
  }
  tcp::socket socket_;
  std::array<char, kMessageBytes> data_{};
};

class PingClient {
 public:
  PingClient(tcp::socket socket, int& finished) : socket_(std::move(socket)), finished_(finished) {
    message_.fill('p');
  }
  void start() {
    remaining_ = kRoundTripsPerIteration;
    send();
  }
  tcp::socket& socket() { return socket_; }

 private:
  void send() {
    boost::asio::async_write(socket_, boost::asio::buffer(message_),
                             [this](boost::system::error_code error, std::size_t) {
                               if (!error) receive();
                             });
  }
  void receive() {
    boost::asio::async_read(socket_, boost::asio::buffer(reply_),
                            [this](boost::system::error_code error, std::size_t) {
                              if (error) return;
                              if (--remaining_ > 0) {
                                send();
                              } else {
                                ++finished_;
                              }
                            });
  }
  tcp::socket socket_;
  int& finished_;
  int remaining_ = 0;
  std::array<char, kMessageBytes> message_{};
  std::array<char, kMessageBytes> reply_{};
};

}  // namespace

void pingpong_asio(benchmark::State& state) {
  const int connections = static_cast<int>(state.range(0));
  boost::asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  int finished = 0;
  std::vector<std::unique_ptr<PingClient>> clients;
  for (int i = 0; i < connections; ++i) {
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    client.set_option(tcp::no_delay(true));
    server.set_option(tcp::no_delay(true));
    std::make_shared<EchoSession>(std::move(server))->read();
    clients.push_back(std::make_unique<PingClient>(std::move(client), finished));
  }

  for (auto _ : state) {
    finished = 0;
    for (auto& client : clients) client->start();
    // NOLINTNEXTLINE(bugprone-infinite-loop): the handlers run_one() invokes count `finished`.
    while (finished < connections) io.run_one();
  }

  state.counters["round_trips"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * connections * kRoundTripsPerIteration,
      benchmark::Counter::kIsRate);
  for (auto& client : clients) client->socket().close();
  io.run();  // the echo sessions see end-of-file and finish
}

}  // namespace restrack_bench
