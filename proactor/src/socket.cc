// The socket awaitables: one Operation subclass per request, each carrying the future it
// completes. Portable: the platform's socket calls live in posix/ (and iocp/), the
// kernel requests in the backend.
#include "restrack/proactor/socket.h"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "loop_access.h"
#include "operation.h"
#include "recycler.h"
#include "restrack/kind.h"
#include "result_error.h"
#include "socket_calls.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

using internal::LoopAccess;
using internal::Operation;
using internal::OperationKey;
using internal::OperationType;
using internal::result_error;

// The future of one socket operation: cancelling it asks the kernel to stop (rule 4).
template <class T>
class OperationFuture final : public FutureState<T> {
 public:
  using FutureState<T>::FutureState;

  bool cancel() override {
    if (!FutureState<T>::cancel()) return false;
    if (EventLoop* loop = this->loop()) LoopAccess::cancel(*loop, key);
    return true;
  }

  OperationKey key = internal::kNoOperation;  // the current submission (resubmits change it)
};

// An operation and the future it completes.
template <class T>
class SocketOperation : public Operation {
 public:
  SocketOperation(OperationType operation_type, const Socket& socket,
                  std::shared_ptr<OperationFuture<T>> future)
      : Operation(operation_type, open_handle(socket), &socket), future_(std::move(future)) {}

  void complete(std::unique_ptr<Operation> self) final {
    if (deliverable()) deliver(std::move(self));
  }

  // Rule 11: at close, what a successful result created is released right here.
  void abandon() noexcept final {
    release_result();
    if (!future_->done()) {
      try {
        future_->cancel();  // the loop is closed: this schedules nothing
      } catch (...) {
      }
    }
  }

  // Submits `self` and returns the future (the key is kept for cancellation).
  static Future<T> start(EventLoop& loop, std::unique_ptr<SocketOperation> self) {
    std::shared_ptr<OperationFuture<T>> future = self->future_;
    future->key = LoopAccess::submit(loop, std::move(self));
    return Future<T>(std::move(future));
  }

 protected:
  // Called with a successful result for a future still waiting for it.
  virtual void deliver(std::unique_ptr<Operation> self) = 0;
  // Releases what a successful result created that nobody will receive.
  virtual void release_result() noexcept {}

  OperationFuture<T>& future() noexcept { return *future_; }

 private:
  static NativeSocket open_handle(const Socket& socket) {
    const NativeSocket handle = socket.get();
    if (handle == kInvalidSocket) {
      throw result_error(-EBADF, "socket is not open");
    }
    return handle;
  }

  // Rule 4: a future that is already done (cancelled) swallows the late result,
  // releasing what it created; a kernel-side cancellation cancels the future; an error
  // fails it.
  bool deliverable() {
    if (future_->done()) {
      release_result();
      return false;
    }
    if (result == -ECANCELED) {
      future_->cancel();
      return false;
    }
    if (result < 0) {
      future_->set_exception(std::make_exception_ptr(result_error(result, describe())));
      return false;
    }
    return true;
  }

  std::shared_ptr<OperationFuture<T>> future_;
};

class AcceptOperation final : public SocketOperation<Socket> {
 public:
  using SocketOperation::SocketOperation;
  void deliver(std::unique_ptr<Operation>) override {
    future().set_result(Socket(result, kinds::socket));
  }
  void release_result() noexcept override {
    if (result >= 0) internal::close_socket(result);
    result = -ECANCELED;
  }
};

class ConnectOperation final : public SocketOperation<void> {
 public:
  using SocketOperation::SocketOperation;
  void deliver(std::unique_ptr<Operation>) override { future().set_result(); }
};

class RecvOperation final : public SocketOperation<std::string> {
 public:
  using SocketOperation::SocketOperation;
  void deliver(std::unique_ptr<Operation>) override {
    future().set_result(std::string(buffer.view(static_cast<std::size_t>(result))));
  }
};

class RecvIntoOperation final : public SocketOperation<std::size_t> {
 public:
  RecvIntoOperation(const Socket& socket, std::span<char> destination,
                    std::shared_ptr<OperationFuture<std::size_t>> future)
      : SocketOperation(internal::stream_operations(socket).receive, socket, std::move(future)),
        destination_(destination) {}
  void deliver(std::unique_ptr<Operation>) override {
    const auto received = static_cast<std::size_t>(result);
    // Rule 1: the kernel wrote into the operation's buffer; the caller's buffer is only
    // written now that the future is still waiting for it.
    if (received > 0) std::memcpy(destination_.data(), buffer.data(), received);
    future().set_result(received);
  }

 private:
  std::span<char> destination_;
};

class SendAllOperation final : public SocketOperation<void> {
 public:
  using SocketOperation::SocketOperation;
  void deliver(std::unique_ptr<Operation> self) override {
    offset += static_cast<std::size_t>(result);
    if (offset < buffer.size()) {
      // Rules 8 and 26: a stream send can complete short; resubmit the remainder.
      OperationFuture<void>& waiting = future();
      try {
        waiting.key = LoopAccess::submit(*waiting.loop(), std::move(self));
      } catch (...) {
        waiting.set_exception(std::current_exception());
      }
      return;
    }
    future().set_result();
  }
};

class SendToOperation final : public SocketOperation<std::size_t> {
 public:
  using SocketOperation::SocketOperation;
  void deliver(std::unique_ptr<Operation>) override {
    future().set_result(static_cast<std::size_t>(result));
  }
};

class RecvFromOperation final : public SocketOperation<Datagram> {
 public:
  using SocketOperation::SocketOperation;
  void deliver(std::unique_ptr<Operation>) override {
    SocketAddress sender(reinterpret_cast<const sockaddr*>(&address->storage), address->length);
    future().set_result(
        Datagram{std::string(buffer.view(static_cast<std::size_t>(result))), sender});
  }
};

template <class T>
std::shared_ptr<OperationFuture<T>> new_future(EventLoop& loop) {
  return std::allocate_shared<OperationFuture<T>>(internal::RecycledAllocator<OperationFuture<T>>(),
                                                  loop);
}

void set_address(Operation& operation, const SocketAddress& address) {
  std::memcpy(&operation.address->storage, address.get(), address.length());
  operation.address->length = address.length();
}

}  // namespace

Future<Socket> sock_accept(EventLoop& loop, const Socket& listener) {
  auto operation =
      std::make_unique<AcceptOperation>(OperationType::accept, listener, new_future<Socket>(loop));
  return AcceptOperation::start(loop, std::move(operation));
}

Future<void> sock_connect(EventLoop& loop, const Socket& socket, const SocketAddress& address) {
  auto operation =
      std::make_unique<ConnectOperation>(OperationType::connect, socket, new_future<void>(loop));
  set_address(*operation, address);
  return ConnectOperation::start(loop, std::move(operation));
}

Future<std::string> sock_recv(EventLoop& loop, const Socket& socket, std::size_t max_bytes) {
  auto operation = std::make_unique<RecvOperation>(internal::stream_operations(socket).receive,
                                                   socket, new_future<std::string>(loop));
  operation->buffer.allocate(max_bytes);
  return RecvOperation::start(loop, std::move(operation));
}

Future<std::size_t> sock_recv_into(EventLoop& loop, const Socket& socket, std::span<char> buffer) {
  auto operation =
      std::make_unique<RecvIntoOperation>(socket, buffer, new_future<std::size_t>(loop));
  operation->buffer.allocate(buffer.size());
  return RecvIntoOperation::start(loop, std::move(operation));
}

Future<void> sock_sendall(EventLoop& loop, const Socket& socket, std::string_view data) {
  auto operation = std::make_unique<SendAllOperation>(internal::stream_operations(socket).send,
                                                      socket, new_future<void>(loop));
  operation->buffer.assign(data);
  return SendAllOperation::start(loop, std::move(operation));
}

Future<std::size_t> sock_sendto(EventLoop& loop, const Socket& socket, std::string_view data,
                                const SocketAddress& address) {
  auto operation = std::make_unique<SendToOperation>(OperationType::sendto, socket,
                                                     new_future<std::size_t>(loop));
  operation->buffer.assign(data);
  set_address(*operation, address);
  return SendToOperation::start(loop, std::move(operation));
}

Future<Datagram> sock_recvfrom(EventLoop& loop, const Socket& socket, std::size_t max_bytes) {
  auto operation = std::make_unique<RecvFromOperation>(OperationType::recvfrom, socket,
                                                       new_future<Datagram>(loop));
  operation->buffer.allocate(max_bytes);
  return RecvFromOperation::start(loop, std::move(operation));
}

RESTRACK_NAMESPACE_END
