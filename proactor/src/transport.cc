// create_connection, and the setup steps that every outgoing connection shares.
#include "restrack/proactor/transport.h"

#include <exception>
#include <stdexcept>
#include <utility>

#include "connection_setup.h"
#include "loop_frames.h"
#include "socket_calls.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

int connection_library_frames() noexcept { return kLoopDispatchFrames + 2; }

Task<std::shared_ptr<StreamTransport>> start_connection(std::shared_ptr<SocketTransport> transport,
                                                        StreamProtocolFactory factory) {
  std::shared_ptr<StreamProtocol> protocol;
  try {
    protocol = factory();
    if (protocol == nullptr) throw std::invalid_argument("the protocol factory returned null");
  } catch (...) {
    // No protocol, so no callback to make: the connection is simply closed, and nothing
    // is left to warn about.
    transport->discard();
    throw;
  }
  std::exception_ptr failure;
  try {
    co_await transport->start(std::move(protocol));
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure != nullptr) {
    // Rule 27: cancelled, or connection_made threw (then it is already aborted). Either
    // way connection_made runs (or ran) and connection_lost follows.
    transport->close();
    std::rethrow_exception(failure);
  }
  co_return transport;
}

}  // namespace internal

namespace {

Task<std::shared_ptr<StreamTransport>> connect_then_start(
    EventLoop& loop, std::shared_ptr<internal::SocketTransport> transport,
    StreamProtocolFactory factory, SocketAddress address) {
  std::exception_ptr failure;
  try {
    co_await sock_connect(loop, transport->socket(), address);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure != nullptr) {
    transport->discard();
    std::rethrow_exception(failure);
  }
  if (address.family() != AF_UNIX) internal::set_no_delay(transport->native_handle());
  co_return co_await internal::start_connection(std::move(transport), std::move(factory));
}

}  // namespace

Task<std::shared_ptr<StreamTransport>> create_connection(EventLoop& loop,
                                                         StreamProtocolFactory factory,
                                                         const SocketAddress& address,
                                                         CallSite where) {
  internal::SocketTransport::Settings settings;
  settings.label = address.family() == AF_UNIX ? "unix" : "tcp";
  settings.where = where;
  settings.library_frames = internal::connection_library_frames();
  // Created here, in the caller's frame, so that its allocation trace names the caller.
  auto transport = internal::SocketTransport::create(
      loop, open_socket(address.family(), SOCK_STREAM), std::move(settings));
  return connect_then_start(loop, std::move(transport), std::move(factory), address);
}

RESTRACK_NAMESPACE_END
