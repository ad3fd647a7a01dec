#include "restrack/proactor/server.h"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "log.h"
#include "loop_access.h"
#include "loop_frames.h"
#include "result_error.h"
#include "server_core.h"
#include "socket_calls.h"
#include "transport_operation.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

std::string describe_server(const void* owner) {
  return static_cast<const ServerCore*>(owner)->describe();
}

// Out of descriptors or memory: accepting again at once would fail again at once.
bool is_resource_error(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

}  // namespace

ServerCore::ServerCore(EventLoop& loop, StreamProtocolFactory factory, Socket listener,
                       Settings settings)
    : loop_(loop),
      anchor_(LoopAccess::anchor(loop)),
      factory_(std::move(factory)),
      listener_(std::move(listener)),
      listener_handle_(listener_.get()),
      address_(socket_address(listener_handle_)),
      settings_(std::move(settings)) {
  guard_.open(kinds::server, this, &describe_server, settings_.library_frames);
}

ServerCore::~ServerCore() {
  // Section F: a server's destructor is a close (which closes the guard).
  try {
    close();
  } catch (...) {
    // Nothing in close() is expected to throw; a destructor must not either way.
  }
}

std::string ServerCore::describe() const {
  const std::size_t count = connections_now_.load(std::memory_order_relaxed);
  return settings_.title +
         (serving_now_.load(std::memory_order_relaxed) ? " serving, " : " closed, ") +
         std::to_string(count) + (count == 1 ? " connection" : " connections");
}

bool ServerCore::loop_alive() const noexcept { return anchor_->loop != nullptr; }

void ServerCore::start() { submit_accept(); }

void ServerCore::submit_accept() {
  if (!serving_) return;
  std::unique_ptr<Operation> operation = std::move(accept_operation_);
  if (operation == nullptr) {
    operation = std::make_unique<TransportOperation<ServerCore>>(
        settings_.next_instance ? OperationType::accept_pipe : OperationType::accept,
        listener_handle_, listener_, weak_from_this(), &ServerCore::on_accept);
  }
  try {
    accept_key_ = LoopAccess::submit(loop_, std::move(operation));
  } catch (...) {
    // Rule 23: no accept can be armed (the loop is closing): tear down, never stall.
    close();
  }
}

void ServerCore::on_accept(std::unique_ptr<Operation> operation) {
  accept_key_ = kNoOperation;
  const int result = operation->result;
  accept_operation_ = std::move(operation);
  if (!serving_) {
    // Rule 16: completed after close (or its cancellation lost the race): no factory call.
    // (A connected pipe instance is the listener, which close() closed.)
    if (result >= 0 && !settings_.next_instance) close_socket(result);
    return;
  }
  if (result >= 0) {
    Socket connection;
    try {
      connection = take_connection(result);
    } catch (...) {
      // No next pipe instance: the connected one is still served, but nothing more can be
      // accepted (rule 23: tear down rather than stall).
      loop_.call_exception_handler(ExceptionContext{"accept failed; the server is closed",
                                                    std::current_exception(),
                                                    settings_.connection.where,
                                                    {},
                                                    kNoTrace});
      connection = std::exchange(listener_, Socket());
      close();
      serve(std::move(connection));
      return;
    }
    submit_accept();  // rule 23: armed again before anything of this connection can fail
    serve(std::move(connection));
    return;
  }
  const int error = -result;
  if (error == ECANCELED || is_per_connection_error(error)) {
    submit_accept();  // rule 15: the client went away; keep serving
    return;
  }
  auto failure = std::make_exception_ptr(result_error(-error, "accept on " + settings_.title));
  if (is_resource_error(error)) {
    loop_.call_exception_handler(ExceptionContext{"accept failed; retrying in one second",
                                                  failure,
                                                  settings_.connection.where,
                                                  {},
                                                  kNoTrace});
    retry_timer_ = loop_.call_later(
        kAcceptRetryDelay,
        [weak = weak_from_this()] {
          if (std::shared_ptr<ServerCore> self = weak.lock()) self->submit_accept();
        },
        settings_.connection.where);
    return;
  }
  // The listener itself is broken: rule 23's other way out, tear down.
  loop_.call_exception_handler(ExceptionContext{
      "accept failed; the server is closed", failure, settings_.connection.where, {}, kNoTrace});
  close();
}

Socket ServerCore::take_connection(int result) {
  if (!settings_.next_instance) return Socket(result, *settings_.socket_kind);
  // Rule 14: the next instance exists before the connected one is handed out.
  Socket next = settings_.next_instance();
  Socket connected = std::exchange(listener_, std::move(next));
  listener_handle_ = listener_.get();
  accept_operation_.reset();  // bound to the previous instance's handle
  return connected;
}

void ServerCore::serve(Socket connection) {
  if (std::string_view(settings_.connection.label) == "tcp") set_no_delay(connection.get());
  auto transport = SocketTransport::create(loop_, std::move(connection), settings_.connection);
  std::shared_ptr<StreamProtocol> protocol;
  try {
    protocol = factory_();
    if (protocol == nullptr) throw std::invalid_argument("the protocol factory returned null");
  } catch (...) {
    // Rule 15: the connection is closed, not leaked, and the server keeps serving.
    transport->discard();
    loop_.call_exception_handler(ExceptionContext{"exception in the protocol factory of a server",
                                                  std::current_exception(),
                                                  settings_.connection.where,
                                                  {},
                                                  kNoTrace});
    return;
  }
  transport->set_on_lost([weak = weak_from_this()](SocketTransport& lost) {
    if (std::shared_ptr<ServerCore> self = weak.lock()) self->detach(lost);
  });
  connections_.push_back(transport);
  connections_now_.store(connections_.size(), std::memory_order_relaxed);
  transport->start_served(std::move(protocol));
}

void ServerCore::detach(SocketTransport& transport) {
  // Rule 22's last step. Moved out first: the transport may be destroyed right here.
  auto found = std::find_if(
      connections_.begin(), connections_.end(),
      [&](const std::shared_ptr<SocketTransport>& held) { return held.get() == &transport; });
  if (found == connections_.end()) return;
  std::shared_ptr<SocketTransport> detached = std::move(*found);
  connections_.erase(found);
  connections_now_.store(connections_.size(), std::memory_order_relaxed);
  wake_waiters_if_closed();
}

void ServerCore::close() {
  if (!serving_) return;
  serving_ = false;
  serving_now_.store(false, std::memory_order_relaxed);
  guard_.close();
  retry_timer_.cancel();
  // Rule 16: the pending accept is cancelled; closing the listener alone would not stop it
  // (rule 8). One that completes anyway is closed by on_accept.
  if (accept_key_ != kNoOperation && loop_alive()) LoopAccess::cancel(loop_, accept_key_);
  if (listener_.is_open()) static_cast<void>(listener_.close());
  if (settings_.on_close) settings_.on_close();
  if (loop_alive()) wake_waiters_if_closed();
}

void ServerCore::wake_waiters_if_closed() {
  if (serving_ || !connections_.empty()) return;
  std::vector<Future<void>> waiters = std::move(waiters_);
  waiters_.clear();
  for (Future<void>& waiter : waiters) {
    if (!waiter.done()) waiter.set_result();
  }
}

Future<void> ServerCore::wait_closed() {
  Future<void> waiter = Future<void>::create(loop_);
  if (!serving_ && connections_.empty()) {
    waiter.set_result();
  } else {
    waiters_.push_back(waiter);
  }
  return waiter;
}

std::vector<SocketAddress> ServerCore::sockets() const {
  // A Windows named pipe has no socket address.
  if (!serving_ || address_.length() == 0) return {};
  return {address_};
}

}  // namespace internal

Server& Server::operator=(Server&& other) noexcept {
  if (this != &other) {
    core_.reset();  // ~ServerCore closes it
    core_ = std::move(other.core_);
  }
  return *this;
}

Server::~Server() = default;  // ~ServerCore closes it

void Server::close() {
  if (core_ != nullptr) core_->close();
}

Future<void> Server::wait_closed() {
  if (core_ == nullptr) throw std::logic_error("wait_closed() on an empty Server");
  return core_->wait_closed();
}

bool Server::is_serving() const noexcept { return core_ != nullptr && core_->is_serving(); }

std::vector<SocketAddress> Server::sockets() const {
  return core_ == nullptr ? std::vector<SocketAddress>{} : core_->sockets();
}

std::size_t Server::connection_count() const noexcept {
  return core_ == nullptr ? 0 : core_->connection_count();
}

Server create_server(EventLoop& loop, StreamProtocolFactory factory, const SocketAddress& address,
                     ServerOptions options, CallSite where) {
  Socket listener = listen_on(address, options.backlog);
  internal::ServerCore::Settings settings;
  const bool local = address.family() == AF_UNIX;
  settings.title = std::string(local ? "unix" : "tcp") + " server " +
                   internal::socket_address(listener.get()).to_string();
  settings.connection.label = local ? "unix" : "tcp";
  settings.connection.where = where;
  settings.library_frames = internal::kLoopDispatchFrames + 2;
  auto core = std::make_shared<internal::ServerCore>(loop, std::move(factory), std::move(listener),
                                                     std::move(settings));
  core->start();
  return ServerAccess::make(std::move(core));
}

RESTRACK_NAMESPACE_END
