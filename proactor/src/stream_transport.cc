#include "stream_transport.h"

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "log.h"
#include "loop_access.h"
#include "restrack/proactor/errors.h"
#include "result_error.h"
#include "socket_calls.h"
#include "transport_operation.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

std::string describe_transport(const void* owner) {
  return static_cast<const SocketTransport*>(owner)->describe();
}

}  // namespace

std::shared_ptr<SocketTransport> SocketTransport::create(EventLoop& loop, Socket socket,
                                                         Settings settings) {
  return std::make_shared<SocketTransport>(loop, std::move(socket), std::move(settings));
}

SocketTransport::SocketTransport(EventLoop& loop, Socket socket, Settings settings)
    : loop_(loop),
      anchor_(LoopAccess::anchor(loop)),
      socket_(std::move(socket)),
      handle_(socket_.get()),
      operations_(stream_operations(socket_)),
      settings_(std::move(settings)) {
  if (settings_.kind != nullptr) {
    guard_.open(*settings_.kind, this, &describe_transport, settings_.library_frames);
  }
}

void SocketTransport::attach(Socket socket) noexcept {
  socket_ = std::move(socket);
  handle_ = socket_.get();
  operations_ = stream_operations(socket_);
}

SocketTransport::~SocketTransport() {
  if (!guard_closed_ && settings_.kind != nullptr) {
    // Section F: never the protocol, never the loop — the handle is released right here.
    guard_.release_and_warn([this]() noexcept { release_handle(); });
  } else {
    release_handle();
  }
}

std::string SocketTransport::describe() const {
  std::string text;
  if (settings_.name.empty()) {
    text = Socket::describe(handle_);
  } else {
    text = settings_.label;
    if (handle_ != kInvalidSocket) text += " " + handle_text(handle_);
    text += " " + settings_.name;
  }
  switch (phase_.load(std::memory_order_relaxed)) {
    case Phase::connecting:
      return text + " connecting";
    case Phase::reading:
      return text + " reading";
    case Phase::paused:
      return text + " paused";
    case Phase::half_open:
      return text + " half-open";
    case Phase::closing:
      return text + " closing";
  }
  return text;
}

void SocketTransport::update_phase() noexcept {
  Phase phase = Phase::reading;
  if (closing_) {
    phase = Phase::closing;
  } else if (!started_) {
    phase = Phase::connecting;
  } else if (eof_received_) {
    phase = Phase::half_open;
  } else if (!reading_) {
    phase = Phase::paused;
  }
  phase_.store(phase, std::memory_order_relaxed);
}

template <class Call>
bool SocketTransport::call(const char* callback, Call&& call) {
  if (call_protocol(loop_, callback, settings_.where, std::forward<Call>(call))) return true;
  return false;
}

Future<void> SocketTransport::start(std::shared_ptr<StreamProtocol> protocol) {
  protocol_ = std::move(protocol);
  started_ = true;
  update_phase();
  made_ = Future<void>::create(loop_);
  Future<void> made = *made_;
  LoopAccess::schedule(
      loop_, [self = shared_from_this()] { self->connection_made(); }, settings_.where);
  return made;
}

void SocketTransport::start_served(std::shared_ptr<StreamProtocol> protocol) {
  protocol_ = std::move(protocol);
  started_ = true;
  update_phase();
  LoopAccess::schedule(
      loop_, [self = shared_from_this()] { self->connection_made(); }, settings_.where);
}

void SocketTransport::start_now(std::shared_ptr<StreamProtocol> protocol) {
  protocol_ = std::move(protocol);
  started_ = true;
  update_phase();
  connection_made();
}

void SocketTransport::connection_made() {
  made_called_ = true;
  std::exception_ptr failure;
  try {
    protocol_->connection_made(*this);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure != nullptr) {
    // Rule 27: the creator gets the error (or, for a server's connection, the loop's
    // exception handler), and the transport is aborted: connection_lost follows.
    if (made_ && !made_->done()) {
      made_->set_exception(failure);
    } else {
      loop_.call_exception_handler(ExceptionContext{
          "exception in StreamProtocol::connection_made", failure, settings_.where, {}, kNoTrace});
    }
    force_close(failure);
    return;
  }
  if (made_ && !made_->done()) made_->set_result();
  // Rule 19: close() inside connection_made means no read is ever issued.
  if (!closing_ && reading_) submit_read();
}

std::unique_ptr<Operation> SocketTransport::new_operation(OperationType type) {
  const auto handler =
      type == operations_.receive ? &SocketTransport::on_read : &SocketTransport::on_write;
  return std::make_unique<TransportOperation<SocketTransport>>(type, handle_, socket_,
                                                               weak_from_this(), handler);
}

void SocketTransport::submit_read() {
  if (read_key_ != kNoOperation || parked_ != nullptr || eof_received_) return;
  std::unique_ptr<Operation> operation = std::move(read_operation_);
  if (operation == nullptr) {
    operation = new_operation(operations_.receive);
    operation->buffer.allocate(settings_.read_size);
  }
  try {
    read_key_ = LoopAccess::submit(loop_, std::move(operation));
  } catch (...) {
    // The loop is closing or the backend refused: nothing more can arrive (rule 23: tear
    // down rather than stall).
    force_close(std::current_exception());
  }
}

void SocketTransport::on_read(std::unique_ptr<Operation> operation) {
  read_key_ = kNoOperation;
  sent_directly_ = 0;
  if (closing_) {
    // Rule 8: after close/abort a receive ends with -ECANCELED, or 0 from shutdown, or even
    // data; none of it is delivered.
    read_operation_ = std::move(operation);
    return;
  }
  if (!reading_) {
    // Rule 24: the receive was not cancelled by the pause; what it brought waits here.
    parked_ = std::move(operation);
    return;
  }
  deliver_read(std::move(operation));
}

void SocketTransport::deliver_read(std::unique_ptr<Operation> operation) {
  const int result = operation->result;
  if (result < 0) {
    read_operation_ = std::move(operation);
    if (result == -ECANCELED) {
      // Cancelled by someone else (the loop closing): nothing more will come.
      force_close(nullptr);
      return;
    }
    on_error(-result, "fatal read error on transport");
    return;
  }
  if (result == 0) {
    read_operation_ = std::move(operation);
    on_end_of_file();
    return;
  }
  read_operation_ = std::move(operation);
  if (!deliver(static_cast<std::size_t>(result))) return;
  // A full buffer: more is likely waiting. Read it directly (end-of-file and errors are left
  // to the next receive), within the budget, while the protocol keeps reading.
  const std::size_t size = read_operation_->buffer.size();
  std::size_t last = static_cast<std::size_t>(result);
  std::size_t received = last;
  while (last == size && received < kDirectTransferBudget && !closing_ && reading_) {
    last = receive_now(handle_, read_operation_->buffer.data(), size);
    if (last == 0 || !deliver(last)) break;
    received += last;
  }
  // Rule 23: re-arm, unless the protocol paused or closed meanwhile.
  if (!closing_ && reading_) submit_read();
}

bool SocketTransport::deliver(std::size_t count) {
  delivering_ = true;
  const bool delivered = call("StreamProtocol::data_received", [&] {
    protocol_->data_received(read_operation_->buffer.view(count));
  });
  delivering_ = false;
  if (!delivered) force_close(nullptr);
  return delivered;
}

void SocketTransport::on_end_of_file() {
  eof_received_ = true;
  update_phase();
  bool keep_open = false;
  if (!call("StreamProtocol::eof_received", [&] { keep_open = protocol_->eof_received(); })) {
    force_close(nullptr);
    return;
  }
  // Rule 20: false closes; true keeps the transport half-open (writes go on).
  if (!keep_open) close();
}

void SocketTransport::pause_reading() {
  if (closing_ || !reading_) return;
  reading_ = false;  // rule 24 (and rule 5): the receive in flight is left alone
  update_phase();
}

void SocketTransport::resume_reading() {
  if (closing_ || reading_) return;
  reading_ = true;
  update_phase();
  if (delivering_ || !made_called_) return;  // re-armed when the delivery returns
  if (parked_ != nullptr) {
    // Delivered from the ready queue, never inside the user's call (rule 3).
    LoopAccess::schedule(
        loop_,
        [self = shared_from_this()] {
          if (self->parked_ == nullptr || self->closing_ || !self->reading_) return;
          self->deliver_read(std::move(self->parked_));
        },
        settings_.where);
    return;
  }
  submit_read();
}

void SocketTransport::write(std::string_view data) {
  if (eof_requested_) throw std::logic_error("write() after write_eof() on " + describe());
  if (closing_) {
    note_write_after_close();
    return;
  }
  if (data.empty()) return;
  if (write_key_ != kNoOperation) {
    queued_.append(data);  // sent after the send in flight, in order
    maybe_pause_protocol();
    return;
  }
  // No send in flight, hence nothing queued: what the kernel takes at once of a large write is
  // sent now, with no copy and no operation; only the rest is copied (rule 25) and sent
  // through the loop.
  if (data.size() >= kDirectSendMinimum && sent_directly_ < kDirectTransferBudget) {
    const std::size_t taken = send_now(handle_, data);
    sent_directly_ += taken;
    data.remove_prefix(taken);
    if (data.empty()) return;
  }
  std::unique_ptr<Operation> operation = std::move(write_operation_);
  if (operation == nullptr) operation = new_operation(operations_.send);
  operation->buffer.assign(data);
  operation->offset = 0;
  in_flight_bytes_ = data.size();
  submit_write(std::move(operation));
  maybe_pause_protocol();
}

void SocketTransport::submit_write(std::unique_ptr<Operation> operation) {
  try {
    write_key_ = LoopAccess::submit(loop_, std::move(operation));
  } catch (...) {
    in_flight_bytes_ = 0;
    force_close(std::current_exception());
  }
}

void SocketTransport::on_write(std::unique_ptr<Operation> operation) {
  write_key_ = kNoOperation;
  sent_directly_ = 0;
  if (aborted_) {
    // Rule 21: abort dropped the buffer; whatever the cancelled send did is forgotten.
    write_operation_ = std::move(operation);
    return;
  }
  const int result = operation->result;
  if (result < 0) {
    write_operation_ = std::move(operation);
    in_flight_bytes_ = 0;
    queued_.clear();
    if (result == -ECANCELED) {
      force_close(nullptr);
      return;
    }
    // Rule 21: a write error after close() still delivers connection_lost.
    on_error(-result, "fatal write error on transport");
    return;
  }
  operation->offset += static_cast<std::size_t>(result);
  in_flight_bytes_ -= static_cast<std::size_t>(result);
  if (operation->offset < operation->buffer.size()) {
    submit_write(std::move(operation));  // rule 26: a short send, resubmit the remainder
    maybe_resume_protocol();
    return;
  }
  if (!queued_.empty()) {
    operation->buffer.assign(queued_);
    operation->offset = 0;
    in_flight_bytes_ = queued_.size();
    queued_.clear();
    submit_write(std::move(operation));
  } else {
    write_operation_ = std::move(operation);
    if (eof_requested_ && !eof_written_) {
      eof_written_ = true;
      shutdown_socket(handle_, ShutdownHow::write);
    }
    // Rule 21: close() waited for the flush.
    if (closing_) schedule_connection_lost(nullptr);
  }
  maybe_resume_protocol();  // rule 25: called last
}

void SocketTransport::write_eof() {
  if (!can_write_eof()) {
    throw std::logic_error("write_eof() on " + describe() +
                           ": a named pipe cannot be half-closed; close() it instead");
  }
  if (closing_ || eof_requested_) return;
  eof_requested_ = true;
  if (write_key_ == kNoOperation) {
    eof_written_ = true;
    shutdown_socket(handle_, ShutdownHow::write);
  }
}

void SocketTransport::set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low) {
  const std::size_t new_low = low.value_or(high / 4);
  if (new_low > high) {
    // Rule 25: bad limits are rejected, naming them.
    throw std::invalid_argument("write buffer limits: high (" + std::to_string(high) +
                                ") must be >= low (" + std::to_string(new_low) + ")");
  }
  high_ = high;
  low_ = new_low;
  maybe_pause_protocol();
  maybe_resume_protocol();
}

void SocketTransport::maybe_pause_protocol() {
  if (protocol_paused_ || write_buffer_size() <= high_ || protocol_ == nullptr) return;
  protocol_paused_ = true;
  if (!call("BaseProtocol::pause_writing", [&] { protocol_->pause_writing(); })) abort();
}

void SocketTransport::maybe_resume_protocol() {
  if (!protocol_paused_ || write_buffer_size() > low_) return;
  protocol_paused_ = false;
  if (!call("BaseProtocol::resume_writing", [&] { protocol_->resume_writing(); })) abort();
}

void SocketTransport::note_write_after_close() {
  // asyncio's "socket.send() raised exception.": never thrown, counted, said once.
  if (writes_after_close_++ == 0) {
    proactor_logger().warn("write() on a closing transport ignored: {}", describe());
  }
}

void SocketTransport::close() {
  if (closing_) return;
  if (protocol_ == nullptr) {
    discard();
    return;
  }
  closing_ = true;
  close_guard();
  update_phase();
  // Rule 5 allows cancelling the receive here: its result is thrown away.
  cancel(read_key_);
  parked_.reset();
  if (write_key_ == kNoOperation) schedule_connection_lost(nullptr);
}

void SocketTransport::abort() { force_close(nullptr); }

void SocketTransport::on_error(int error, const char* what) {
  std::exception_ptr failure =
      std::make_exception_ptr(result_error(-error, std::string(what) + " " + describe()));
  // Rule 20: a peer's reset ends the connection with that error, quietly.
  if (!is_connection_reset(error)) {
    loop_.call_exception_handler(ExceptionContext{what, failure, settings_.where, {}, kNoTrace});
  }
  force_close(failure);
}

void SocketTransport::force_close(const std::exception_ptr& error) {
  if (protocol_ == nullptr) {
    discard();
    return;
  }
  // Rule 21: also after close(): pending writes are cancelled, the buffer dropped.
  const bool was_aborted = aborted_;
  closing_ = true;
  aborted_ = true;
  close_guard();
  update_phase();
  cancel(read_key_);
  cancel(write_key_);
  parked_.reset();
  queued_.clear();
  in_flight_bytes_ = 0;
  if (!was_aborted) schedule_connection_lost(error);
}

void SocketTransport::cancel(OperationKey key) {
  // A loop that is closed or gone has already cancelled (or abandoned) everything.
  if (key != kNoOperation && anchor_->loop != nullptr) LoopAccess::cancel(loop_, key);
}

void SocketTransport::schedule_connection_lost(const std::exception_ptr& error) {
  if (lost_scheduled_) return;
  lost_scheduled_ = true;
  if (anchor_->loop == nullptr || loop_.is_closed()) {
    // The loop is gone: nobody can be called; release what the transport holds.
    lost_ = true;
    release_handle();
    protocol_.reset();
    return;
  }
  try {
    LoopAccess::schedule(
        loop_, [self = shared_from_this(), error] { self->connection_lost(error); },
        settings_.where);
  } catch (const LoopClosedError&) {
    // The loop is gone: nobody can be called; release what the transport holds.
    lost_ = true;
    release_handle();
    protocol_.reset();
  }
}

void SocketTransport::connection_lost(const std::exception_ptr& error) {
  if (lost_) return;
  lost_ = true;
  // Rule 22: the protocol first, then shutdown and close (errors swallowed), then detach.
  call("BaseProtocol::connection_lost", [&] { protocol_->connection_lost(error); });
  release_handle();
  if (on_lost_) {
    std::function<void(SocketTransport&)> on_lost = std::move(on_lost_);
    on_lost_ = nullptr;
    on_lost(*this);
  }
  protocol_.reset();
}

void SocketTransport::discard() noexcept {
  closing_ = true;
  lost_ = true;
  close_guard();
  update_phase();
  release_handle();
}

void SocketTransport::close_guard() noexcept {
  // The transport's own state says whether it is open, never the guard (which keeps none
  // when tracking is compiled out).
  if (guard_closed_) return;
  guard_closed_ = true;
  guard_.close();
}

void SocketTransport::release_handle() noexcept {
  if (!socket_.is_open()) return;
  // Rule 8: closing alone would not end the receive in flight; shutdown does (with 0 bytes,
  // which the closing flag tells from end-of-file).
  shutdown_socket(handle_, ShutdownHow::both);
  static_cast<void>(socket_.close());
}

SocketAddress SocketTransport::peer_address() const { return internal::peer_address(handle_); }

SocketAddress SocketTransport::local_address() const { return internal::socket_address(handle_); }

}  // namespace internal
RESTRACK_NAMESPACE_END
