#include "restrack/proactor/socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "restrack/kind.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

// The future of one socket operation: cancelling it asks the kernel to stop (rule 4).
template <class T>
class OperationFuture final : public FutureState<T> {
 public:
  using FutureState<T>::FutureState;

  bool cancel() override {
    if (!FutureState<T>::cancel()) return false;
    if (EventLoop* loop = this->loop()) loop->cancel_operation(key);
    return true;
  }

  OperationKey key = kNoOperation;  // the current submission (resubmits change it)
  std::span<char> destination;      // sock_recv_into: the caller's buffer
};

template <class T>
OperationFuture<T>& future_of(Operation& operation) {
  return static_cast<OperationFuture<T>&>(*operation.future);
}

// Decides whether a completion reaches its future. Rule 4: a future that is already done
// (cancelled) swallows the late result, releasing what it created; a kernel-side
// cancellation cancels the future; an error fails it.
bool deliverable(Operation& operation) {
  FutureBase& future = *operation.future;
  if (future.done()) {
    operation.discard_result();
    return false;
  }
  if (operation.result == -ECANCELED) {
    future.cancel();
    return false;
  }
  if (operation.result < 0) {
    future.set_exception(std::make_exception_ptr(
        std::system_error(-operation.result, std::system_category(), operation.describe())));
    return false;
  }
  return true;
}

template <class T>
Future<T> start(EventLoop& loop, std::unique_ptr<Operation> operation,
                std::shared_ptr<OperationFuture<T>> future) {
  future->key = loop.submit(std::move(operation));
  return Future<T>(std::move(future));
}

template <class T>
std::unique_ptr<Operation> make_operation(OperationType type, const TrackedFd& socket,
                                          Operation::CompleteFn complete,
                                          const std::shared_ptr<OperationFuture<T>>& future) {
  const int fd = socket.get();
  if (fd < 0) throw std::system_error(EBADF, std::system_category(), "socket is not open");
  return std::make_unique<Operation>(type, fd, complete, future);
}

void complete_accept(std::unique_ptr<Operation> operation, EventLoop&) {
  if (!deliverable(*operation)) return;
  future_of<TrackedFd>(*operation).set_result(TrackedFd(operation->result, kinds::socket));
}

void complete_connect(std::unique_ptr<Operation> operation, EventLoop&) {
  if (!deliverable(*operation)) return;
  future_of<void>(*operation).set_result();
}

void complete_recv(std::unique_ptr<Operation> operation, EventLoop&) {
  if (!deliverable(*operation)) return;
  operation->buffer.resize(static_cast<std::size_t>(operation->result));
  future_of<std::string>(*operation).set_result(std::move(operation->buffer));
}

void complete_recv_into(std::unique_ptr<Operation> operation, EventLoop&) {
  if (!deliverable(*operation)) return;
  OperationFuture<std::size_t>& future = future_of<std::size_t>(*operation);
  const auto received = static_cast<std::size_t>(operation->result);
  std::memcpy(future.destination.data(), operation->buffer.data(), received);
  future.set_result(received);
}

void complete_sendall(std::unique_ptr<Operation> operation, EventLoop& loop) {
  if (!deliverable(*operation)) return;
  OperationFuture<void>& future = future_of<void>(*operation);
  operation->offset += static_cast<std::size_t>(operation->result);
  if (operation->offset < operation->buffer.size()) {
    // Rules 8 and 26: a stream send can complete short; resubmit the remainder.
    try {
      future.key = loop.submit(std::move(operation));
    } catch (...) {
      future.set_exception(std::current_exception());
    }
    return;
  }
  future.set_result();
}

void complete_sendto(std::unique_ptr<Operation> operation, EventLoop&) {
  if (!deliverable(*operation)) return;
  future_of<std::size_t>(*operation).set_result(static_cast<std::size_t>(operation->result));
}

void complete_recvfrom(std::unique_ptr<Operation> operation, EventLoop&) {
  if (!deliverable(*operation)) return;
  operation->buffer.resize(static_cast<std::size_t>(operation->result));
  SocketAddress sender(reinterpret_cast<const sockaddr*>(&operation->address),
                       operation->message.msg_namelen);
  future_of<Datagram>(*operation).set_result(Datagram{std::move(operation->buffer), sender});
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

}  // namespace

SocketAddress::SocketAddress(const sockaddr* address, socklen_t length) noexcept
    : length_(std::min<socklen_t>(length, sizeof storage_)) {
  std::memcpy(&storage_, address, length_);
}

SocketAddress SocketAddress::ipv4(const std::string& host, std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    throw std::invalid_argument("not a numeric IPv4 address: " + host);
  }
  return SocketAddress(reinterpret_cast<const sockaddr*>(&address), sizeof address);
}

SocketAddress SocketAddress::ipv6(const std::string& host, std::uint16_t port) {
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(port);
  if (::inet_pton(AF_INET6, host.c_str(), &address.sin6_addr) != 1) {
    throw std::invalid_argument("not a numeric IPv6 address: " + host);
  }
  return SocketAddress(reinterpret_cast<const sockaddr*>(&address), sizeof address);
}

SocketAddress SocketAddress::unix_path(const std::string& path) {
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) {
    throw std::invalid_argument("AF_UNIX path too long: " + path);
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return SocketAddress(reinterpret_cast<const sockaddr*>(&address),
                       static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1));
}

std::uint16_t SocketAddress::port() const noexcept {
  switch (family()) {
    case AF_INET:
      return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    case AF_INET6:
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    default:
      return 0;
  }
}

std::string SocketAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET:
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
                  sizeof text);
      return std::string(text) + ":" + std::to_string(port());
    case AF_INET6:
      ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
                  sizeof text);
      return "[" + std::string(text) + "]:" + std::to_string(port());
    case AF_UNIX:
      return "unix " + std::string(reinterpret_cast<const sockaddr_un*>(&storage_)->sun_path);
    default:
      return "family " + std::to_string(family());
  }
}

TrackedFd open_socket(int family, int type, int protocol) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) throw_errno("socket");
  return TrackedFd(fd, kinds::socket);
}

TrackedFd listen_on(const SocketAddress& address, int backlog) {
  TrackedFd listener = open_socket(address.family(), SOCK_STREAM);
  const int fd = listener.get();
  const int one = 1;
  if ((address.family() != AF_UNIX &&
       ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) ||
      ::bind(fd, address.get(), address.length()) != 0 || ::listen(fd, backlog) != 0) {
    const int error = errno;
    listener.close();
    throw std::system_error(error, std::system_category(), "listen on " + address.to_string());
  }
  return listener;
}

SocketAddress local_address(const TrackedFd& socket) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    throw_errno("getsockname");
  }
  return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

Future<TrackedFd> sock_accept(EventLoop& loop, const TrackedFd& listener) {
  auto future = std::make_shared<OperationFuture<TrackedFd>>(loop);
  auto operation = make_operation(OperationType::accept, listener, &complete_accept, future);
  return start(loop, std::move(operation), std::move(future));
}

Future<void> sock_connect(EventLoop& loop, const TrackedFd& socket, const SocketAddress& address) {
  auto future = std::make_shared<OperationFuture<void>>(loop);
  auto operation = make_operation(OperationType::connect, socket, &complete_connect, future);
  std::memcpy(&operation->address, address.get(), address.length());
  operation->address_length = address.length();
  return start(loop, std::move(operation), std::move(future));
}

Future<std::string> sock_recv(EventLoop& loop, const TrackedFd& socket, std::size_t max_bytes) {
  auto future = std::make_shared<OperationFuture<std::string>>(loop);
  auto operation = make_operation(OperationType::recv, socket, &complete_recv, future);
  operation->buffer.resize(max_bytes);
  return start(loop, std::move(operation), std::move(future));
}

Future<std::size_t> sock_recv_into(EventLoop& loop, const TrackedFd& socket,
                                   std::span<char> buffer) {
  auto future = std::make_shared<OperationFuture<std::size_t>>(loop);
  future->destination = buffer;
  auto operation = make_operation(OperationType::recv, socket, &complete_recv_into, future);
  // Rule 1: the kernel writes into memory the operation owns, never into the caller's.
  operation->buffer.resize(buffer.size());
  return start(loop, std::move(operation), std::move(future));
}

Future<void> sock_sendall(EventLoop& loop, const TrackedFd& socket, std::string_view data) {
  auto future = std::make_shared<OperationFuture<void>>(loop);
  auto operation = make_operation(OperationType::send, socket, &complete_sendall, future);
  operation->buffer.assign(data);
  return start(loop, std::move(operation), std::move(future));
}

Future<std::size_t> sock_sendto(EventLoop& loop, const TrackedFd& socket, std::string_view data,
                                const SocketAddress& address) {
  auto future = std::make_shared<OperationFuture<std::size_t>>(loop);
  auto operation = make_operation(OperationType::sendto, socket, &complete_sendto, future);
  operation->buffer.assign(data);
  std::memcpy(&operation->address, address.get(), address.length());
  operation->address_length = address.length();
  return start(loop, std::move(operation), std::move(future));
}

Future<Datagram> sock_recvfrom(EventLoop& loop, const TrackedFd& socket, std::size_t max_bytes) {
  auto future = std::make_shared<OperationFuture<Datagram>>(loop);
  auto operation = make_operation(OperationType::recvfrom, socket, &complete_recvfrom, future);
  operation->buffer.resize(max_bytes);
  return start(loop, std::move(operation), std::move(future));
}

RESTRACK_NAMESPACE_END
