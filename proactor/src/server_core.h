// Internal: ServerCore, the state behind a Server — the listening socket, its accept loop
// (rules 15, 16, 23) and the connections it handed to transports. TCP, AF_UNIX and pipe
// servers share it; what differs (the name to release at close) comes in as a hook.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "operation.h"
#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/proactor/server.h"
#include "stream_transport.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

struct LoopAnchor;

class ServerCore final : public std::enable_shared_from_this<ServerCore> {
 public:
  struct Settings {
    // "tcp server 127.0.0.1:8080", "pipe server /run/app.sock": the start of the description.
    std::string title;
    // Settings of each connection's transport (label, pipe name, where).
    SocketTransport::Settings connection;
    // Kind of the accepted sockets.
    const Kind* socket_kind = &kinds::socket;
    // Run once by close(), after the listener is closed (a pipe server removes its name).
    std::function<void()> on_close;
    // Windows pipe servers: the listener is a pipe instance that waits for its client
    // (accept_pipe) and then is the connection; this makes the next instance, which
    // replaces the listener before the connected one is served (rule 14). Null: the
    // listener accepts new sockets (accept).
    std::function<Socket()> next_instance;
    int library_frames = 0;
  };

  ServerCore(EventLoop& loop, StreamProtocolFactory factory, Socket listener, Settings settings);
  ~ServerCore();
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  // Submits the first accept.
  void start();
  void close();
  Future<void> wait_closed();
  bool is_serving() const noexcept { return serving_; }
  std::vector<SocketAddress> sockets() const;
  std::size_t connection_count() const noexcept { return connections_.size(); }

  // "tcp server 127.0.0.1:8080 serving, 3 connections".
  std::string describe() const;

  // How long the accept loop waits after running out of descriptors or memory before
  // accepting again (asyncio's ACCEPT_RETRY_DELAY).
  static constexpr std::chrono::milliseconds kAcceptRetryDelay{1000};

 private:
  void submit_accept();
  void on_accept(std::unique_ptr<Operation> operation);
  // The connection an accept gave: a new socket, or the connected pipe instance, replaced
  // as the listener by the next one. Throws if that one cannot be made.
  Socket take_connection(int result);
  void serve(Socket connection);
  void detach(SocketTransport& transport);
  void wake_waiters_if_closed();
  bool loop_alive() const noexcept;

  EventLoop& loop_;
  std::shared_ptr<LoopAnchor> anchor_;
  StreamProtocolFactory factory_;
  Socket listener_;
  NativeSocket listener_handle_;
  SocketAddress address_;
  Settings settings_;
  std::unique_ptr<Operation> accept_operation_;  // idle accept, kept for reuse
  OperationKey accept_key_ = kNoOperation;
  std::vector<std::shared_ptr<SocketTransport>> connections_;
  std::vector<Future<void>> waiters_;
  TimerHandle retry_timer_;
  bool serving_ = true;
  std::atomic<bool> serving_now_{true};          // for describe() on other threads
  std::atomic<std::size_t> connections_now_{0};  // for describe() on other threads
  [[no_unique_address]] ResourceGuard guard_;
};

}  // namespace internal
RESTRACK_NAMESPACE_END
