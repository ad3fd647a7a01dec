// Datagram transports: one recvfrom in flight, one send in flight with a queue behind it.
// Portable on top of the loop's operations, like the stream transport.
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "log.h"
#include "loop_access.h"
#include "loop_frames.h"
#include "restrack/kind.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/transport.h"
#include "result_error.h"
#include "socket_calls.h"
#include "stream_transport.h"
#include "transport_operation.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

constexpr std::size_t kDatagramReadSize = std::size_t{64} << 10;

std::string describe_datagram(const void* owner);

class DatagramSocketTransport final : public DatagramTransport,
                                      public std::enable_shared_from_this<DatagramSocketTransport> {
 public:
  DatagramSocketTransport(EventLoop& loop, Socket socket, bool connected, CallSite where)
      : loop_(loop),
        socket_(std::move(socket)),
        handle_(socket_.get()),
        connected_(connected),
        where_(where) {
    guard_.open(kinds::transport, this, &describe_datagram, kLoopDispatchFrames + 2);
  }
  ~DatagramSocketTransport() override {
    if (!closed_by_user_) {
      guard_.release_and_warn([this]() noexcept { release_handle(); });
    } else {
      release_handle();
    }
  }

  std::string describe() const {
    return Socket::describe(handle_) +
           (closing_now_.load(std::memory_order_relaxed) ? " closing" : " open");
  }

  Future<void> start(std::shared_ptr<DatagramProtocol> protocol) {
    protocol_ = std::move(protocol);
    made_ = Future<void>::create(loop_);
    LoopAccess::schedule(
        loop_, [self = shared_from_this()] { self->connection_made(); }, where_);
    return *made_;
  }

  void discard() noexcept {
    closing_ = true;
    lost_ = true;
    close_guard();
    release_handle();
  }

  void sendto(std::string_view data, std::optional<SocketAddress> address) override {
    if (closing_) {
      if (writes_after_close_++ == 0) {
        proactor_logger().warn("sendto() on a closing transport ignored: {}", describe());
      }
      return;
    }
    if (!address && !connected_) {
      throw std::invalid_argument("sendto() without an address on an unconnected endpoint");
    }
    queue_.push_back(Datagram{std::string(data), address});
    buffered_ += data.size();
    if (send_key_ == kNoOperation) send_next();
    if (!paused_ && buffered_ > StreamTransport::kDefaultHighWater) {
      paused_ = true;
      if (!call_protocol(loop_, "BaseProtocol::pause_writing", where_,
                         [&] { protocol_->pause_writing(); })) {
        abort();
      }
    }
  }

  void close() override {
    if (closing_) return;
    closing_ = true;
    closing_now_.store(true, std::memory_order_relaxed);
    close_guard();
    if (recv_key_ != kNoOperation) LoopAccess::cancel(loop_, recv_key_);
    if (send_key_ == kNoOperation) schedule_connection_lost(nullptr);
  }

  void abort() override {
    const bool was_aborted = aborted_;
    closing_ = true;
    aborted_ = true;
    closing_now_.store(true, std::memory_order_relaxed);
    close_guard();
    if (recv_key_ != kNoOperation) LoopAccess::cancel(loop_, recv_key_);
    if (send_key_ != kNoOperation) LoopAccess::cancel(loop_, send_key_);
    queue_.clear();
    buffered_ = 0;
    if (!was_aborted) schedule_connection_lost(nullptr);
  }

  bool is_closing() const noexcept override { return closing_; }
  std::size_t write_buffer_size() const noexcept override { return buffered_; }
  SocketAddress local_address() const override { return socket_address(handle_); }
  NativeSocket native_handle() const noexcept override {
    return socket_.is_open() ? handle_ : kInvalidSocket;
  }
  DatagramProtocol& protocol() const noexcept override { return *protocol_; }

 private:
  struct Datagram {
    std::string data;
    std::optional<SocketAddress> address;
  };

  void connection_made() {
    std::exception_ptr failure;
    try {
      protocol_->connection_made(*this);
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure != nullptr) {
      if (made_ && !made_->done()) made_->set_exception(failure);
      abort();
      return;
    }
    if (made_ && !made_->done()) made_->set_result();
    if (!closing_) submit_recv();
  }

  void submit_recv() {
    std::unique_ptr<Operation> operation = std::move(recv_operation_);
    if (operation == nullptr) {
      operation = std::make_unique<TransportOperation<DatagramSocketTransport>>(
          OperationType::recvfrom, handle_, socket_, weak_from_this(),
          &DatagramSocketTransport::on_recv);
      operation->buffer.allocate(kDatagramReadSize);
    }
    try {
      recv_key_ = LoopAccess::submit(loop_, std::move(operation));
    } catch (...) {
      abort();
    }
  }

  void on_recv(std::unique_ptr<Operation> operation) {
    recv_key_ = kNoOperation;
    const int result = operation->result;
    recv_operation_ = std::move(operation);
    if (closing_) return;
    if (result == -ECANCELED) {
      abort();
      return;
    }
    if (result < 0) {
      // ICMP errors and the like: the endpoint goes on (asyncio's error_received).
      auto error = std::make_exception_ptr(result_error(result, "recvfrom on " + describe()));
      if (!call_protocol(loop_, "DatagramProtocol::error_received", where_,
                         [&] { protocol_->error_received(error); })) {
        abort();
        return;
      }
    } else {
      const SocketAddress sender(
          reinterpret_cast<const sockaddr*>(&recv_operation_->address->storage),
          recv_operation_->address->length);
      if (!call_protocol(loop_, "DatagramProtocol::datagram_received", where_, [&] {
            protocol_->datagram_received(
                recv_operation_->buffer.view(static_cast<std::size_t>(result)), sender);
          })) {
        abort();
        return;
      }
    }
    if (!closing_) submit_recv();  // rule 23
  }

  void send_next() {
    if (queue_.empty()) return;
    Datagram& next = queue_.front();
    std::unique_ptr<Operation> operation;
    if (next.address) {
      operation = std::make_unique<TransportOperation<DatagramSocketTransport>>(
          OperationType::sendto, handle_, socket_, weak_from_this(),
          &DatagramSocketTransport::on_send);
      std::memcpy(&operation->address->storage, next.address->get(), next.address->length());
      operation->address->length = next.address->length();
    } else {
      operation = std::make_unique<TransportOperation<DatagramSocketTransport>>(
          OperationType::send, handle_, socket_, weak_from_this(),
          &DatagramSocketTransport::on_send);
    }
    operation->buffer.assign(next.data);
    try {
      send_key_ = LoopAccess::submit(loop_, std::move(operation));
    } catch (...) {
      abort();
    }
  }

  void on_send(std::unique_ptr<Operation> operation) {
    send_key_ = kNoOperation;
    if (aborted_) return;
    const int result = operation->result;
    if (!queue_.empty()) {
      buffered_ -= queue_.front().data.size();
      queue_.pop_front();
    }
    if (result < 0 && result != -ECANCELED) {
      auto error = std::make_exception_ptr(result_error(result, "sendto on " + describe()));
      if (!call_protocol(loop_, "DatagramProtocol::error_received", where_,
                         [&] { protocol_->error_received(error); })) {
        abort();
        return;
      }
    }
    if (!queue_.empty()) {
      send_next();
    } else if (closing_) {
      schedule_connection_lost(nullptr);
    }
    if (paused_ && buffered_ <= StreamTransport::kDefaultHighWater / 4) {
      paused_ = false;
      if (!call_protocol(loop_, "BaseProtocol::resume_writing", where_,
                         [&] { protocol_->resume_writing(); })) {
        abort();
      }
    }
  }

  void schedule_connection_lost(const std::exception_ptr& error) {
    if (lost_scheduled_) return;
    lost_scheduled_ = true;
    try {
      LoopAccess::schedule(
          loop_, [self = shared_from_this(), error] { self->connection_lost(error); }, where_);
    } catch (const LoopClosedError&) {
      lost_ = true;
      release_handle();
      protocol_.reset();
    }
  }

  void connection_lost(const std::exception_ptr& error) {
    if (lost_) return;
    lost_ = true;
    call_protocol(loop_, "BaseProtocol::connection_lost", where_,
                  [&] { protocol_->connection_lost(error); });
    release_handle();
    protocol_.reset();
  }

  // The owner's own state says whether it is open, never the guard (which keeps none when
  // tracking is compiled out).
  void close_guard() noexcept {
    if (closed_by_user_) return;
    closed_by_user_ = true;
    guard_.close();
  }

  void release_handle() noexcept {
    if (!socket_.is_open()) return;
    shutdown_socket(handle_, ShutdownHow::both);
    static_cast<void>(socket_.close());
  }

  EventLoop& loop_;
  Socket socket_;
  NativeSocket handle_;
  bool connected_;
  CallSite where_;
  std::shared_ptr<DatagramProtocol> protocol_;
  std::optional<Future<void>> made_;
  std::unique_ptr<Operation> recv_operation_;
  std::deque<Datagram> queue_;
  std::size_t buffered_ = 0;
  std::size_t writes_after_close_ = 0;
  OperationKey recv_key_ = kNoOperation;
  OperationKey send_key_ = kNoOperation;
  bool paused_ = false;
  bool closing_ = false;
  bool aborted_ = false;
  bool lost_scheduled_ = false;
  bool lost_ = false;
  bool closed_by_user_ = false;  // close(), abort() or discard(): the guard is closed
  std::atomic<bool> closing_now_{false};
  [[no_unique_address]] ResourceGuard guard_;
};

std::string describe_datagram(const void* owner) {
  return static_cast<const DatagramSocketTransport*>(owner)->describe();
}

Task<std::shared_ptr<DatagramTransport>> start_datagram(
    std::shared_ptr<DatagramSocketTransport> transport, DatagramProtocolFactory factory) {
  std::shared_ptr<DatagramProtocol> protocol;
  try {
    protocol = factory();
    if (protocol == nullptr) throw std::invalid_argument("the protocol factory returned null");
  } catch (...) {
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
    transport->close();  // rule 27
    std::rethrow_exception(failure);
  }
  co_return transport;
}

}  // namespace
}  // namespace internal

Task<std::shared_ptr<DatagramTransport>> create_datagram_endpoint(
    EventLoop& loop, DatagramProtocolFactory factory, const SocketAddress& local,
    std::optional<SocketAddress> remote, CallSite where) {
  Socket socket = open_socket(local.family(), SOCK_DGRAM);
  try {
    internal::bind_datagram(socket, local, remote);
  } catch (...) {
    socket.close();
    throw;
  }
  auto transport = std::make_shared<internal::DatagramSocketTransport>(loop, std::move(socket),
                                                                       remote.has_value(), where);
  return internal::start_datagram(std::move(transport), std::move(factory));
}

RESTRACK_NAMESPACE_END
