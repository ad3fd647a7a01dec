// The restrack side of the ping-pong benchmark, included by one TU per tracking mode.
// Everything is in an unnamed namespace: each including TU gets its own copy, built
// against its own mode of restrack, so the two never collide. Portable: sockets are
// restrack::Socket (a TrackedFd on Linux, a TrackedSocket on Windows), on whichever
// backend the platform's loop runs (io_uring or IOCP).
#pragma once

#if defined(_WIN32)
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_pingpong.h"
#include "restrack/proactor/proactor.h"

namespace {

using restrack::EventLoop;
using restrack::Socket;
using restrack::Task;

void set_no_delay(const Socket& socket) {
#if defined(_WIN32)
  const BOOL one = TRUE;
  ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one),
               sizeof one);
#else
  const int one = 1;
  ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#endif
}

// Both ends receive into a buffer of their own (sock_recv_into), as Asio's peer does: a
// sock_recv would return each message in a new std::string, two allocations per round trip
// that Asio's peer does not make (docs/PERFORMANCE.md, "Proactor ping-pong").
Task<void> echo(EventLoop& loop, const Socket& connection) {
  std::array<char, restrack_bench::kMessageBytes> data{};
  while (true) {
    const std::size_t count = co_await restrack::sock_recv_into(loop, connection, data);
    if (count == 0) co_return;
    co_await restrack::sock_sendall(loop, connection, std::string_view(data.data(), count));
  }
}

Task<void> ping(EventLoop& loop, const Socket& client, const std::string& message) {
  std::array<char, restrack_bench::kMessageBytes> reply{};
  for (int round = 0; round < restrack_bench::kRoundTripsPerIteration; ++round) {
    co_await restrack::sock_sendall(loop, client, message);
    std::size_t received = 0;
    while (received < message.size()) {
      received += co_await restrack::sock_recv_into(
          loop, client, std::span<char>(reply).subspan(received, message.size() - received));
    }
  }
}

Task<void> ping_all(EventLoop& loop, const std::vector<Socket>& clients,
                    const std::string& message) {
  std::vector<Task<void>> pings;
  pings.reserve(clients.size());
  for (const Socket& client : clients) pings.push_back(ping(loop, client, message));
  co_await restrack::gather(std::move(pings));
}

Task<void> connect_all(EventLoop& loop, const Socket& listener, int connections,
                       std::vector<Socket>& clients, std::vector<Socket>& servers) {
  const restrack::SocketAddress address = restrack::local_address(listener);
  for (int i = 0; i < connections; ++i) {
    Socket client = restrack::open_socket(AF_INET, SOCK_STREAM);
    co_await restrack::sock_connect(loop, client, address);
    Socket server = co_await restrack::sock_accept(loop, listener);
    set_no_delay(client);
    set_no_delay(server);
    clients.push_back(std::move(client));
    servers.push_back(std::move(server));
  }
}

Task<void> await_all(std::vector<Task<void>> tasks) { co_await restrack::gather(std::move(tasks)); }

void run_restrack_pingpong(benchmark::State& state) {
  const int connections = static_cast<int>(state.range(0));
  const std::string message(restrack_bench::kMessageBytes, 'p');
  EventLoop loop;
  Socket listener = restrack::listen_on(restrack::SocketAddress::ipv4("127.0.0.1", 0));
  std::vector<Socket> clients;
  std::vector<Socket> servers;
  loop.run_until_complete(connect_all(loop, listener, connections, clients, servers));
  std::vector<Task<void>> echoes;
  echoes.reserve(servers.size());
  for (const Socket& server : servers) echoes.push_back(loop.create_task(echo(loop, server)));

  for (auto _ : state) loop.run_until_complete(ping_all(loop, clients, message));

  state.counters["round_trips"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * connections *
                             restrack_bench::kRoundTripsPerIteration,
                         benchmark::Counter::kIsRate);
  for (Socket& client : clients) client.close();
  loop.run_until_complete(await_all(std::move(echoes)));  // each echo sees end-of-file
  for (Socket& server : servers) server.close();
  listener.close();
  loop.close();
}

}  // namespace
