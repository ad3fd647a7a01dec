// restrack/proactor/transport.h — stream and datagram transports, and making connections.
//
// A transport owns one connection (a socket, a pipe) and runs its I/O on the loop: it keeps
// a receive in flight and hands what arrives to its protocol (restrack/proactor/protocol.h),
// and sends what the user writes, buffering it while a send is in flight. It is portable:
// built on the loop's operations only, the same code runs on io_uring and IOCP.
//
//   class Client final : public restrack::StreamProtocol {
//     void connection_made(restrack::StreamTransport& t) override { t.write("hello"); }
//     void data_received(std::string_view data) override { ... }
//   };
//   std::shared_ptr<restrack::StreamTransport> transport = co_await restrack::create_connection(
//       loop, [] { return std::make_shared<Client>(); }, address);
//   ...
//   transport->close();
//
// Ownership: the shared_ptr returned by create_connection (for a server's connections: the
// server, see server.h) owns the transport. A transport is a tracked resource of kind
// `transport`: destroying one that was never closed reports
//
//   ResourceWarning: unclosed transport <tcp fd=7 127.0.0.1:40312->127.0.0.1:8080 reading>
//
// with the trace of the code that created it, and closes its socket right there — without
// calling the protocol or scheduling anything (section F). close() or abort() is what
// counts as closing; connection_lost may come later.
//
// Every member is called on the loop's thread. None throws into the loop: errors of the
// connection are delivered to the protocol as connection_lost(error).
//
// asyncio names: Transport → StreamTransport (get_extra_info('peername'/'sockname'/'socket')
// → peer_address()/local_address()/native_handle(); get_write_buffer_limits/size,
// set_write_buffer_limits, pause/resume_reading, is_reading, write, write_eof,
// can_write_eof, close, abort, is_closing as they are). loop.create_connection →
// create_connection; loop.create_datagram_endpoint → create_datagram_endpoint.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "restrack/config.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/protocol.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/task.h"

RESTRACK_NAMESPACE_BEGIN

// Write-buffer marks of a transport (rule 25).
struct WriteBufferLimits {
  std::size_t high = 0;
  std::size_t low = 0;
};

class StreamTransport {
 public:
  // Defaults of every new transport (asyncio's): high 64 KiB, low high / 4.
  static constexpr std::size_t kDefaultHighWater = std::size_t{64} << 10;

  virtual ~StreamTransport() = default;

  // --- Writing (rule 25) ---

  // Queues a copy of `data` and sends it in order; returns at once. Flow control: once the
  // buffered size (bytes in flight plus queued) goes above the high-water mark the protocol
  // gets pause_writing(), and resume_writing() once it falls to the low-water mark or below.
  // On a closing or closed transport the data is dropped: such writes are counted and the
  // first is logged (asyncio's "socket.send() raised exception."), nothing is thrown.
  // Throws std::logic_error after write_eof().
  virtual void write(std::string_view data) = 0;

  // Half-closes: once the buffer is sent, the peer sees end-of-file; reading goes on.
  // Only where can_write_eof(): a Windows named pipe cannot be half-closed (can_write_eof()
  // is false for pipe transports there, as for asyncio's), and write_eof() throws
  // std::logic_error; close() ends both directions.
  virtual void write_eof() = 0;
  virtual bool can_write_eof() const noexcept = 0;

  // Sets the marks. `low` defaults to high / 4. Throws std::invalid_argument naming both
  // values unless low <= high. May call pause_writing()/resume_writing() at once.
  virtual void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = {}) = 0;
  virtual WriteBufferLimits write_buffer_limits() const noexcept = 0;
  // Bytes accepted by write() and not yet sent: in flight plus queued.
  virtual std::size_t write_buffer_size() const noexcept = 0;

  // --- Reading (rule 24) ---

  // Stops delivering data_received. The receive already in flight is not cancelled (rule 5):
  // what it brings is kept and delivered after resume_reading().
  virtual void pause_reading() = 0;
  virtual void resume_reading() = 0;
  virtual bool is_reading() const noexcept = 0;

  // --- Closing (rule 21) ---

  // Stops reading, sends what is buffered, then closes and calls connection_lost(null).
  // Idempotent.
  virtual void close() = 0;
  // Closes at once: the receive and the send in flight are cancelled, the buffer is
  // dropped, connection_lost(null) follows. Also after close() (cancels its pending flush).
  virtual void abort() = 0;
  // True once close() or abort() was called or the connection was lost.
  virtual bool is_closing() const noexcept = 0;

  // --- Information ---

  // The peer's and our own address (getpeername/getsockname); empty when unknown.
  virtual SocketAddress peer_address() const = 0;
  virtual SocketAddress local_address() const = 0;
  // The socket, for options (setsockopt); kInvalidSocket once closed. Do not close it,
  // read from it or write to it.
  virtual NativeSocket native_handle() const noexcept = 0;
  // The protocol given at creation. Valid until connection_lost has returned.
  virtual StreamProtocol& protocol() const noexcept = 0;
  virtual EventLoop& loop() const noexcept = 0;
};

class DatagramTransport {
 public:
  virtual ~DatagramTransport() = default;

  // Queues a copy of `data` for `address` (or the connected peer when empty) and sends the
  // queue in order, one datagram at a time. Flow control as for streams. Dropped, counted
  // and logged once, on a closing transport.
  virtual void sendto(std::string_view data, std::optional<SocketAddress> address = {}) = 0;
  // Sends what is queued, then closes; connection_lost(null) follows. Idempotent.
  virtual void close() = 0;
  // Drops the queue, cancels what is in flight; connection_lost(null) follows.
  virtual void abort() = 0;
  virtual bool is_closing() const noexcept = 0;
  virtual std::size_t write_buffer_size() const noexcept = 0;
  virtual SocketAddress local_address() const = 0;
  virtual NativeSocket native_handle() const noexcept = 0;
  virtual DatagramProtocol& protocol() const noexcept = 0;
};

// Makes the protocol of a new connection. Called once per connection, on the loop's
// thread, after the connection is established; if it throws (or returns null), the
// connection is closed and the error goes to whoever waits for it.
using StreamProtocolFactory = std::function<std::shared_ptr<StreamProtocol>()>;
using DatagramProtocolFactory = std::function<std::shared_ptr<DatagramProtocol>()>;

// Connects a stream socket to `address` (IPv4, IPv6 or AF_UNIX; TCP gets TCP_NODELAY),
// makes the protocol, and completes once connection_made has returned. Errors: the
// connect's std::system_error (ECONNREFUSED, ENOENT, ...), or the exception of the factory
// or of connection_made. If the setup fails or the task is cancelled once the transport
// exists, the transport is closed — connection_made then connection_lost — and nothing
// leaks or warns (rule 27). The transport is created here, at the call, so its allocation
// trace names the caller.
Task<std::shared_ptr<StreamTransport>> create_connection(EventLoop& loop,
                                                         StreamProtocolFactory factory,
                                                         const SocketAddress& address,
                                                         CallSite where = CallSite::current());

// A datagram endpoint bound to `local` (port 0: any) and, if `remote` is given, connected
// to it. Completes once connection_made has returned.
Task<std::shared_ptr<DatagramTransport>> create_datagram_endpoint(
    EventLoop& loop, DatagramProtocolFactory factory, const SocketAddress& local,
    std::optional<SocketAddress> remote = {}, CallSite where = CallSite::current());

RESTRACK_NAMESPACE_END
