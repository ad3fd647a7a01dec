// restrack/proactor/server.h — servers: a listening socket, its accept loop, its connections.
//
//   restrack::Server server = restrack::create_server(
//       loop, [] { return std::make_shared<Echo>(); }, restrack::SocketAddress::ipv4("127.0.0.1",
//       0));
//   ...
//   server.close();
//   co_await server.wait_closed();  // every connection has called connection_lost
//
// A server keeps one accept in flight. Each accepted connection gets a protocol from the
// factory and a stream transport, owned by the server until its connection_lost has
// returned. The accept loop survives per-connection trouble (rule 15): a client gone before
// the accept, a probe that connects and leaves, a factory or connection_made that throws
// (that connection is closed, the error goes to the loop's exception handler, serving goes
// on). Every error path re-arms the accept or tears the server down (rule 23).
//
// close() stops serving (rule 16): the pending accept is cancelled and the listening socket
// closed; a connection accepted after that is closed without calling the factory.
// Connections already handed to transports keep working until they end; wait_closed()
// waits for them too (asyncio 3.12's Server.wait_closed).
//
// A server is a tracked resource of kind `server` (in the live set as
// `<tcp server 127.0.0.1:8080 serving, 3 connections>`). Its destructor is a close() (no
// warning, section F). Connections still open when the Server is destroyed are destroyed
// with it and each reports "unclosed transport": close them, or close the server and
// co_await wait_closed(), first.
//
// asyncio names: loop.create_server → create_server; Server.close, wait_closed, sockets,
// is_serving as they are.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "restrack/config.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/future.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/transport.h"

RESTRACK_NAMESPACE_BEGIN

namespace internal {
class ServerCore;
}

class Server {
 public:
  // An empty server (is_serving() false, close() does nothing).
  Server() noexcept = default;
  Server(Server&& other) noexcept = default;
  Server& operator=(Server&& other) noexcept;
  // Closes the server (section F: no warning).
  ~Server();

  // Stops accepting: cancels the accept in flight and closes the listening sockets (a pipe
  // server also removes its name). Open connections are left alone. Idempotent.
  void close();
  // Completes once the server is closed and every connection it accepted is lost.
  Future<void> wait_closed();
  // True until close().
  bool is_serving() const noexcept;
  // The addresses the server listens on (one per listening socket).
  std::vector<SocketAddress> sockets() const;
  // Connections accepted and not yet lost.
  std::size_t connection_count() const noexcept;

 private:
  friend struct ServerAccess;
  explicit Server(std::shared_ptr<internal::ServerCore> core) noexcept : core_(std::move(core)) {}
  std::shared_ptr<internal::ServerCore> core_;
};

struct ServerOptions {
  int backlog = SOMAXCONN;
};

// Listens on `address` (IPv4, IPv6, AF_UNIX; SO_REUSEADDR on IP) and starts serving at
// once. Throws std::system_error if the socket cannot be bound (the message names the
// address).
Server create_server(EventLoop& loop, StreamProtocolFactory factory, const SocketAddress& address,
                     ServerOptions options = {}, CallSite where = CallSite::current());

// For restrack's own server kinds (pipe servers); not for user code.
struct ServerAccess {
  static Server make(std::shared_ptr<internal::ServerCore> core) noexcept {
    return Server(std::move(core));
  }
};

RESTRACK_NAMESPACE_END
