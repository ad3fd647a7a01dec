// Internal: SocketTransport, the one implementation of StreamTransport — TCP, AF_UNIX, pipe
// connections and the pipes of a subprocess. Portable: it only submits and cancels
// operations (recv, send) through the loop, and the platform's socket calls it needs are in
// socket_calls.h.
//
// State, all on the loop's thread:
//   reading  — one recv in flight (or parked after a pause, rule 24), resubmitted after
//              each delivery while reading and not closing;
//   writing  — one send in flight; what write() adds meanwhile is queued and sent next; a
//              short send is resubmitted for the remainder (rule 26);
//   direct   — with no send in flight, a write of at least kDirectSendMinimum bytes is first
//              offered to the kernel with a non-blocking send (socket_calls.h), and only what
//              it did not take is copied and submitted; after a receive fills its whole
//              buffer, the transport reads on with non-blocking receives before submitting the
//              next one. Both stop after kDirectTransferBudget bytes until the loop delivers
//              the transport's next completion, so that neither side runs ahead of its peer by
//              more than that;
//   closing  — close() or abort() was called, or the connection failed; connection_lost is
//              scheduled once (rule 21) and, after it, the handle is shut down and closed and
//              the owner (a server, a subprocess) is told (rule 22).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "operation.h"
#include "restrack/config.h"
#include "restrack/guard.h"
#include "restrack/kind.h"
#include "restrack/proactor/transport.h"
#include "socket_calls.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

struct LoopAnchor;

// Calls a protocol method; an exception goes to the loop's exception handler as
// "exception in <callback>" with `where`. Returns false if it threw.
template <class Call>
bool call_protocol(EventLoop& loop, const char* callback, CallSite where, Call&& call) noexcept;

// Bytes a transport may send, and receive, with direct calls between two completions of its
// operations. Without a bound a writer that never pauses (its data goes straight into the
// kernel) fills the socket buffers, megabytes ahead of the reader: the bytes go cold in the
// cache and TCP's window closes. 256 KiB was the best of 64 KiB to 1 MiB on the bulk
// benchmark (docs/PERFORMANCE.md, "Transports").
inline constexpr std::size_t kDirectTransferBudget = std::size_t{256} << 10;

// Smallest write sent directly. Below it the copy costs less than a system call of its own:
// with many connections, small sends submitted as operations share one io_uring_enter, and
// the ping-pong at 16 and 64 connections ran 9–18 % faster that way (docs/PERFORMANCE.md).
inline constexpr std::size_t kDirectSendMinimum = std::size_t{16} << 10;

class SocketTransport final : public StreamTransport,
                              public std::enable_shared_from_this<SocketTransport> {
 public:
  struct Settings {
    // "tcp", "unix", "pipe": the first word of the description.
    const char* label = "tcp";
    // The pipe's name, shown in the description of pipe transports.
    std::string name;
    // Kind of the transport's own guard; null: not tracked itself (a subprocess's pipes are
    // part of the subprocess resource).
    const Kind* kind = &kinds::transport;
    // Where the user asked for it: names the protocol's callbacks in error reports.
    CallSite where;
    // Bytes per receive.
    std::size_t read_size = std::size_t{64} << 10;
    // Library frames between the user and the constructor (see ResourceGuard::open).
    int library_frames = 0;
  };

  // A transport for the connected (or connecting) `socket`. Tracked from here on.
  static std::shared_ptr<SocketTransport> create(EventLoop& loop, Socket socket, Settings settings);

  SocketTransport(EventLoop& loop, Socket socket, Settings settings);
  ~SocketTransport() override;

  // Attaches `protocol` and schedules connection_made; reading starts once it has returned,
  // unless the protocol closed the transport in it (rule 19). The future completes when
  // connection_made has returned, or fails with its exception (the transport is then
  // aborted, and connection_lost follows).
  Future<void> start(std::shared_ptr<StreamProtocol> protocol);
  // start() for a server's connection: nobody waits for connection_made, so an exception
  // from it goes to the loop's exception handler (and the transport is aborted).
  void start_served(std::shared_ptr<StreamProtocol> protocol);
  // For a subprocess's pipes: connection_made of the (internal) protocol is called now and
  // the first receive submitted now, so data is never missed.
  void start_now(std::shared_ptr<StreamProtocol> protocol);
  // Closes a transport that never got a protocol (its connect failed): no callback.
  void discard() noexcept;
  // Called after connection_lost, when the transport is done (rule 22: detach last).
  void set_on_lost(std::function<void(SocketTransport&)> on_lost) { on_lost_ = std::move(on_lost); }
  // write() calls dropped because the transport was closing.
  std::size_t writes_after_close() const noexcept { return writes_after_close_; }
  // The socket, for the connect that precedes start().
  const Socket& socket() const noexcept { return socket_; }
  // Gives a transport created with an empty socket its connected one, before start():
  // connect_pipe on Windows, where a named pipe's handle only exists once connected.
  void attach(Socket socket) noexcept;

  // StreamTransport
  void write(std::string_view data) override;
  void write_eof() override;
  // Sockets can half-close; a pipe handle read and written with read/write (Windows)
  // cannot.
  bool can_write_eof() const noexcept override { return operations_.send == OperationType::send; }
  void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low) override;
  WriteBufferLimits write_buffer_limits() const noexcept override { return {high_, low_}; }
  std::size_t write_buffer_size() const noexcept override {
    return in_flight_bytes_ + queued_.size();
  }
  void pause_reading() override;
  void resume_reading() override;
  bool is_reading() const noexcept override { return reading_ && !closing_; }
  void close() override;
  void abort() override;
  bool is_closing() const noexcept override { return closing_; }
  SocketAddress peer_address() const override;
  SocketAddress local_address() const override;
  NativeSocket native_handle() const noexcept override {
    return socket_.is_open() ? handle_ : kInvalidSocket;
  }
  StreamProtocol& protocol() const noexcept override { return *protocol_; }
  EventLoop& loop() const noexcept override { return loop_; }

  // "tcp fd=7 127.0.0.1:40312->127.0.0.1:8080 reading" (the live set's description); with
  // a name, "pipe fd=9 /run/app.sock reading" (Windows: "pipe handle=0x1a4 \\.\pipe\app
  // reading", and no handle part while connect_pipe has none yet).
  std::string describe() const;

 private:
  enum class Phase : std::uint8_t { connecting, reading, paused, half_open, closing };

  void connection_made();
  void submit_read();
  void on_read(std::unique_ptr<Operation> operation);
  void deliver_read(std::unique_ptr<Operation> operation);
  bool deliver(std::size_t count);
  void on_end_of_file();
  void submit_write(std::unique_ptr<Operation> operation);
  void on_write(std::unique_ptr<Operation> operation);
  void on_error(int error, const char* what);
  void force_close(const std::exception_ptr& error);
  void cancel(OperationKey key);
  void schedule_connection_lost(const std::exception_ptr& error);
  void connection_lost(const std::exception_ptr& error);
  void release_handle() noexcept;
  void close_guard() noexcept;
  void maybe_pause_protocol();
  void maybe_resume_protocol();
  void note_write_after_close();
  std::unique_ptr<Operation> new_operation(OperationType type);
  void update_phase() noexcept;
  template <class Call>
  bool call(const char* callback, Call&& call);

  EventLoop& loop_;
  std::shared_ptr<LoopAnchor> anchor_;
  Socket socket_;
  NativeSocket handle_;
  StreamOperations operations_;  // recv and send, or read and write (a Windows pipe)
  Settings settings_;
  std::shared_ptr<StreamProtocol> protocol_;
  std::optional<Future<void>> made_;
  std::function<void(SocketTransport&)> on_lost_;

  std::unique_ptr<Operation> read_operation_;   // idle receive, kept for reuse
  std::unique_ptr<Operation> parked_;           // a receive completed while paused
  std::unique_ptr<Operation> write_operation_;  // idle send, kept for reuse
  OperationKey read_key_ = kNoOperation;        // the receive in flight
  OperationKey write_key_ = kNoOperation;       // the send in flight
  std::string queued_;                          // written while a send is in flight
  std::size_t in_flight_bytes_ = 0;             // of the send in flight, not yet sent
  std::size_t high_ = kDefaultHighWater;
  std::size_t low_ = kDefaultHighWater / 4;
  std::size_t writes_after_close_ = 0;
  std::size_t sent_directly_ = 0;  // since the last completion (kDirectTransferBudget)

  bool started_ = false;
  bool made_called_ = false;
  bool reading_ = true;
  bool delivering_ = false;
  bool eof_received_ = false;
  bool eof_requested_ = false;
  bool eof_written_ = false;
  bool protocol_paused_ = false;
  bool closing_ = false;
  bool aborted_ = false;
  bool lost_scheduled_ = false;
  bool lost_ = false;
  bool guard_closed_ = false;  // closed by close(), abort(), an error or discard()
  std::atomic<Phase> phase_{Phase::connecting};
  [[no_unique_address]] ResourceGuard guard_;
};

template <class Call>
bool call_protocol(EventLoop& loop, const char* callback, CallSite where, Call&& call) noexcept {
  try {
    std::forward<Call>(call)();
    return true;
  } catch (...) {
    std::string message = "exception in ";
    message += callback;
    loop.call_exception_handler(
        ExceptionContext{message, std::current_exception(), where, {}, kNoTrace});
    return false;
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END
