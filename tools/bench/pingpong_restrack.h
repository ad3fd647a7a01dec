// The restrack side of the ping-pong benchmark, included by one TU per tracking mode.
// Everything is in an unnamed namespace: each including TU gets its own copy, built
// against its own mode of restrack, so the two never collide.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_pingpong.h"
#include "restrack/proactor/proactor.h"

namespace {

using restrack::EventLoop;
using restrack::Task;
using restrack::TrackedFd;

void set_no_delay(const TrackedFd& socket) {
  const int one = 1;
  ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Task<void> echo(EventLoop& loop, const TrackedFd& connection) {
  while (true) {
    std::string data =
        co_await restrack::sock_recv(loop, connection, restrack_bench::kMessageBytes);
    if (data.empty()) co_return;
    co_await restrack::sock_sendall(loop, connection, data);
  }
}

Task<void> ping(EventLoop& loop, const TrackedFd& client, const std::string& message) {
  for (int round = 0; round < restrack_bench::kRoundTripsPerIteration; ++round) {
    co_await restrack::sock_sendall(loop, client, message);
    std::size_t received = 0;
    while (received < message.size()) {
      received += (co_await restrack::sock_recv(loop, client, message.size() - received)).size();
    }
  }
}

Task<void> ping_all(EventLoop& loop, const std::vector<TrackedFd>& clients,
                    const std::string& message) {
  std::vector<Task<void>> pings;
  pings.reserve(clients.size());
  for (const TrackedFd& client : clients) pings.push_back(ping(loop, client, message));
  co_await restrack::gather(std::move(pings));
}

Task<void> connect_all(EventLoop& loop, const TrackedFd& listener, int connections,
                       std::vector<TrackedFd>& clients, std::vector<TrackedFd>& servers) {
  const restrack::SocketAddress address = restrack::local_address(listener);
  for (int i = 0; i < connections; ++i) {
    TrackedFd client = restrack::open_socket(AF_INET, SOCK_STREAM);
    co_await restrack::sock_connect(loop, client, address);
    TrackedFd server = co_await restrack::sock_accept(loop, listener);
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
  TrackedFd listener = restrack::listen_on(restrack::SocketAddress::ipv4("127.0.0.1", 0));
  std::vector<TrackedFd> clients;
  std::vector<TrackedFd> servers;
  loop.run_until_complete(connect_all(loop, listener, connections, clients, servers));
  std::vector<Task<void>> echoes;
  echoes.reserve(servers.size());
  for (const TrackedFd& server : servers) echoes.push_back(loop.create_task(echo(loop, server)));

  for (auto _ : state) loop.run_until_complete(ping_all(loop, clients, message));

  state.counters["round_trips"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * connections *
                             restrack_bench::kRoundTripsPerIteration,
                         benchmark::Counter::kIsRate);
  for (TrackedFd& client : clients) client.close();
  loop.run_until_complete(await_all(std::move(echoes)));  // each echo sees end-of-file
  for (TrackedFd& server : servers) server.close();
  listener.close();
  loop.close();
}

}  // namespace
