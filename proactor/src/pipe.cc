// Pipe servers and connect_pipe, and their streams: portable on top of the platform's pipe
// calls (pipe_calls.h) and the shared server, connection and stream code.
#include "restrack/proactor/pipe.h"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "connection_setup.h"
#include "loop_frames.h"
#include "pipe_calls.h"
#include "pipe_retry.h"
#include "server_core.h"
#include "stream_protocols.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

PipeRetryObserver& retry_observer() {
  static PipeRetryObserver observer;
  return observer;
}

}  // namespace

void set_pipe_retry_observer(PipeRetryObserver observer) { retry_observer() = std::move(observer); }

}  // namespace internal

namespace {

Task<std::shared_ptr<StreamTransport>> connect_with_retry(
    EventLoop& loop, std::shared_ptr<internal::SocketTransport> transport,
    StreamProtocolFactory factory, internal::PipeConnectAttempt attempt) {
  std::chrono::milliseconds delay = internal::kPipeBusyFirstDelay;
  while (true) {
    std::exception_ptr failure;
    bool busy = false;
    try {
      co_await attempt(loop, *transport);
    } catch (const std::system_error& error) {
      busy = internal::is_pipe_busy(error.code().value());
      if (!busy) failure = std::current_exception();
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure != nullptr) {
      // Rule 17: anything but busy (no such name, nobody listening) fails at once.
      transport->discard();
      std::rethrow_exception(failure);
    }
    if (!busy) break;
    // Rule 17: an ordinary timer, so cancelling this task cancels the sleep (rule 18: no
    // thread ever waits in a connect).
    Future<void> sleep = loop.sleep(delay);
    if (const internal::PipeRetryObserver& observer = internal::retry_observer()) {
      observer(delay, sleep);
    }
    try {
      co_await sleep;
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure != nullptr) {
      transport->discard();
      std::rethrow_exception(failure);
    }
    delay = std::min(delay * 2, internal::kPipeBusyMaxDelay);
  }
  co_return co_await internal::start_connection(std::move(transport), std::move(factory));
}

}  // namespace

Server create_pipe_server(EventLoop& loop, StreamProtocolFactory factory, const std::string& name,
                          ServerOptions options, CallSite where) {
  internal::PipeListener listener = internal::listen_on_pipe(name, options.backlog);
  internal::ServerCore::Settings settings;
  settings.title = "pipe server " + name;
  settings.connection.label = "pipe";
  settings.connection.name = name;
  settings.connection.where = where;
  settings.socket_kind = &kinds::pipe;
  settings.library_frames = internal::kLoopDispatchFrames + 2;
  settings.next_instance = std::move(listener.next_instance);
  settings.on_close = std::move(listener.release);
  auto core = std::make_shared<internal::ServerCore>(
      loop, std::move(factory), std::move(listener.socket), std::move(settings));
  core->start();
  return ServerAccess::make(std::move(core));
}

Task<std::shared_ptr<StreamTransport>> connect_pipe(EventLoop& loop, StreamProtocolFactory factory,
                                                    const std::string& name, CallSite where) {
  internal::SocketTransport::Settings settings;
  settings.label = "pipe";
  settings.name = name;
  settings.where = where;
  settings.library_frames = internal::connection_library_frames();
  internal::PipeConnectAttempt attempt = internal::pipe_connect_attempt(name);
  auto transport =
      internal::SocketTransport::create(loop, internal::open_pipe_socket(), std::move(settings));
  return connect_with_retry(loop, std::move(transport), std::move(factory), std::move(attempt));
}

Task<std::pair<StreamReader, StreamWriter>> open_pipe_connection(EventLoop& loop,
                                                                 const std::string& name,
                                                                 std::size_t limit,
                                                                 CallSite where) {
  auto protocol = internal::make_stream_protocol(loop, limit);
  return internal::streams_of(connect_pipe(loop, internal::protocol_factory(protocol), name, where),
                              protocol);
}

Server start_pipe_server(EventLoop& loop, ClientConnected client_connected, const std::string& name,
                         std::size_t limit, CallSite where) {
  return create_pipe_server(
      loop,
      [&loop, limit, client_connected = std::move(client_connected)] {
        return internal::make_server_stream_protocol(loop, limit, client_connected);
      },
      name, {}, where);
}

RESTRACK_NAMESPACE_END
