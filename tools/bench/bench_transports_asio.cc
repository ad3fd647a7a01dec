// The bulk transfer on Boost.Asio's io_uring backend (BOOST_ASIO_HAS_IO_URING and
// BOOST_ASIO_DISABLE_EPOLL, set for this TU by CMake): one io_context, one thread.
#include <memory>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#pragma GCC diagnostic pop

#include "bench_transports.h"

namespace restrack_bench {

namespace {

using boost::asio::ip::tcp;

class Sender {
 public:
  explicit Sender(tcp::socket& socket) : socket_(socket), chunk_(kBulkChunk, 's') {}
  void start() {
    sent_ = 0;
    send();
  }

 private:
  void send() {
    boost::asio::async_write(socket_, boost::asio::buffer(chunk_),
                             [this](boost::system::error_code error, std::size_t count) {
                               if (error) return;
                               sent_ += count;
                               if (sent_ < kBulkBytes) send();
                             });
  }
  tcp::socket& socket_;
  std::vector<char> chunk_;
  std::size_t sent_ = 0;
};

class Receiver {
 public:
  explicit Receiver(tcp::socket& socket) : socket_(socket), buffer_(kBulkChunk) {}
  void start() {
    received_ = 0;
    receive();
  }
  bool done() const { return received_ >= kBulkBytes; }

 private:
  void receive() {
    socket_.async_read_some(boost::asio::buffer(buffer_),
                            [this](boost::system::error_code error, std::size_t count) {
                              if (error) return;
                              received_ += count;
                              if (received_ < kBulkBytes) receive();
                            });
  }
  tcp::socket& socket_;
  std::vector<char> buffer_;
  std::size_t received_ = 0;
};

}  // namespace

void bulk_asio(benchmark::State& state) {
  boost::asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  Sender sender(client);
  Receiver receiver(server);
  for (auto _ : state) {
    io.restart();  // the previous iteration ran out of work, which stops an io_context
    sender.start();
    receiver.start();
    while (!receiver.done()) io.run_one();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBulkBytes));
  client.close();
  server.close();
  io.run();
}

}  // namespace restrack_bench
