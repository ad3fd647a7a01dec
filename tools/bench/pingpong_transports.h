// The ping-pong of bench_pingpong.cc through restrack's transports and protocols, and
// through its reader/writer streams: same workload (loopback TCP, TCP_NODELAY, 64-byte
// messages, 100 round trips per connection per iteration, one thread).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_pingpong.h"
#include "restrack/proactor/proactor.h"

namespace restrack_bench {

// Server side: echoes what it receives.
class EchoProtocol final : public restrack::StreamProtocol {
 public:
  void connection_made(restrack::StreamTransport& transport) override { transport_ = &transport; }
  void data_received(std::string_view data) override { transport_->write(data); }

 private:
  restrack::StreamTransport* transport_ = nullptr;
};

// Client side: sends a message, waits for all 64 bytes back, repeats.
class PingProtocol final : public restrack::StreamProtocol {
 public:
  PingProtocol(restrack::EventLoop& loop, int& finished, int connections)
      : loop_(loop), finished_(finished), connections_(connections), message_(kMessageBytes, 'p') {}
  void connection_made(restrack::StreamTransport& transport) override { transport_ = &transport; }
  void start() {
    remaining_ = kRoundTripsPerIteration;
    received_ = 0;
    transport_->write(message_);
  }
  void data_received(std::string_view data) override {
    received_ += data.size();
    if (received_ < message_.size()) return;
    received_ = 0;
    if (--remaining_ > 0) {
      transport_->write(message_);
    } else if (++finished_ == connections_) {
      loop_.stop();
    }
  }
  restrack::StreamTransport& transport() { return *transport_; }

 private:
  restrack::EventLoop& loop_;
  int& finished_;
  int connections_;
  std::string message_;
  restrack::StreamTransport* transport_ = nullptr;
  int remaining_ = 0;
  std::size_t received_ = 0;
};

inline restrack::Task<void> connect_pings(
    restrack::EventLoop& loop, restrack::SocketAddress address,
    std::vector<std::shared_ptr<PingProtocol>>& pings,
    std::vector<std::shared_ptr<restrack::StreamTransport>>& clients, int& finished,
    int connections) {
  for (int i = 0; i < connections; ++i) {
    auto ping = std::make_shared<PingProtocol>(loop, finished, connections);
    // Named, not a temporary inside the co_await: GCC 12 destroys those twice.
    auto make_ping = [ping] { return ping; };
    clients.push_back(co_await restrack::create_connection(loop, make_ping, address));
    pings.push_back(std::move(ping));
  }
}

inline void run_transport_pingpong(benchmark::State& state) {
  const int connections = static_cast<int>(state.range(0));
  restrack::EventLoop loop;
  restrack::Server server = restrack::create_server(
      loop, [] { return std::make_shared<EchoProtocol>(); },
      restrack::SocketAddress::ipv4("127.0.0.1", 0));
  int finished = 0;
  std::vector<std::shared_ptr<PingProtocol>> pings;
  std::vector<std::shared_ptr<restrack::StreamTransport>> clients;
  loop.run_until_complete(
      connect_pings(loop, server.sockets().front(), pings, clients, finished, connections));

  for (auto _ : state) {
    finished = 0;
    for (auto& ping : pings) ping->start();
    loop.run_forever();  // the last ping to finish stops it
  }

  state.counters["round_trips"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * connections * kRoundTripsPerIteration,
      benchmark::Counter::kIsRate);
  for (auto& client : clients) client->close();
  server.close();
  loop.run_until_complete(
      [](restrack::Server& s) -> restrack::Task<void> { co_await s.wait_closed(); }(server));
  loop.close();
}

// --- The same through streams ---

inline restrack::Task<void> echo_stream(restrack::StreamReader reader,
                                        restrack::StreamWriter writer) {
  while (true) {
    std::string data = co_await reader.read(kMessageBytes);
    if (data.empty()) break;
    writer.write(data);
    co_await writer.drain();
  }
  writer.close();
}

inline restrack::Task<void> ping_stream(restrack::StreamReader& reader,
                                        restrack::StreamWriter& writer,
                                        const std::string& message) {
  for (int round = 0; round < kRoundTripsPerIteration; ++round) {
    writer.write(message);
    co_await writer.drain();
    static_cast<void>(co_await reader.read_exactly(message.size()));
  }
}

using StreamPair = std::pair<restrack::StreamReader, restrack::StreamWriter>;

inline restrack::Task<void> open_streams(restrack::EventLoop& loop, restrack::SocketAddress address,
                                         int connections, std::vector<StreamPair>& streams) {
  for (int i = 0; i < connections; ++i) {
    streams.push_back(co_await restrack::open_connection(loop, address));
  }
}

inline restrack::Task<void> ping_all_streams(std::vector<StreamPair>& streams,
                                             const std::string& message) {
  std::vector<restrack::Task<void>> pings;
  pings.reserve(streams.size());
  for (StreamPair& pair : streams) pings.push_back(ping_stream(pair.first, pair.second, message));
  co_await restrack::gather(std::move(pings));
}

inline void run_streams_pingpong(benchmark::State& state) {
  const int connections = static_cast<int>(state.range(0));
  const std::string message(kMessageBytes, 'p');
  restrack::EventLoop loop;
  restrack::Server server =
      restrack::start_server(loop, echo_stream, restrack::SocketAddress::ipv4("127.0.0.1", 0));
  std::vector<StreamPair> streams;
  loop.run_until_complete(open_streams(loop, server.sockets().front(), connections, streams));

  for (auto _ : state) loop.run_until_complete(ping_all_streams(streams, message));

  state.counters["round_trips"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * connections * kRoundTripsPerIteration,
      benchmark::Counter::kIsRate);
  for (StreamPair& pair : streams) pair.second.close();
  server.close();
  loop.run_until_complete(
      [](restrack::Server& s) -> restrack::Task<void> { co_await s.wait_closed(); }(server));
  streams.clear();
  loop.close();
}

}  // namespace restrack_bench
