// A program written against the public headers only: its target sees nothing but
// restrack::proactor's public include directories. It runs one echo round trip.
#include <cstdio>
#include <exception>
#include <string>

#include "restrack/proactor/proactor.h"

namespace {

restrack::Task<std::string> round_trip(restrack::EventLoop& loop) {
  restrack::Socket listener = restrack::listen_on(restrack::SocketAddress::ipv4("127.0.0.1", 0));
  restrack::Socket client = restrack::open_socket(AF_INET, SOCK_STREAM);
  co_await restrack::sock_connect(loop, client, restrack::local_address(listener));
  restrack::Socket server = co_await restrack::sock_accept(loop, listener);
  co_await restrack::sock_sendall(loop, client, "ping");
  std::string received = co_await restrack::sock_recv(loop, server, 16);
  for (restrack::Socket* socket : {&server, &client, &listener}) socket->close();
  co_return received;
}

}  // namespace

int main() {
  try {
    restrack::EventLoop loop;
    const std::string received = loop.run_until_complete(round_trip(loop));
    loop.close();
    std::printf("%s\n", received.c_str());
    return received == "ping" ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "public_api_program: %s\n", error.what());
    return 1;
  }
}
