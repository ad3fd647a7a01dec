// restrack/proactor/protocol.h — the callbacks a user implements to speak over a transport.
//
// asyncio's protocol/transport model: a transport (restrack/proactor/transport.h) owns the
// connection and does the I/O; a protocol is the user's object whose methods the transport
// calls when something happens. The transport calls them on the loop's thread, always from
// the loop (never inside the call the user made), in this order (rule 19):
//
//   connection_made → data_received* → eof_received (at most once) → connection_lost (once)
//
// connection_lost is always the last call, exactly once, whatever ended the connection:
// close(), abort(), the peer, an error, a failed setup (rule 27). The transport keeps the
// protocol alive until connection_lost has returned, then lets go of it.
//
// A protocol must not own its transport (no shared_ptr to it): keep the reference
// connection_made gives you, valid until connection_lost returns. Whoever created the
// connection holds the transport.
//
// An exception escaping a callback goes to the loop's exception handler
// (EventLoop::set_exception_handler) with the callback's name, and the transport is aborted:
// connection_lost follows. The loop keeps running.
//
// asyncio names: Protocol → StreamProtocol, DatagramProtocol, SubprocessProtocol; the methods
// keep their names. BufferedProtocol has no counterpart.
#pragma once

#include <exception>
#include <string_view>

#include "restrack/config.h"
#include "restrack/proactor/socket.h"

RESTRACK_NAMESPACE_BEGIN

class StreamTransport;
class DatagramTransport;
class SubprocessTransport;

// The callbacks every protocol has.
class BaseProtocol {
 public:
  virtual ~BaseProtocol() = default;

  // The connection is gone: closed by either side, aborted, or failed. `error` is null
  // after an orderly close or end-of-file, else what ended it (a std::system_error with
  // ECONNRESET for a reset peer, say). Always the last call, exactly once.
  virtual void connection_lost(const std::exception_ptr& /*error*/) {}

  // Write flow control (rule 25): the transport's buffer went above its high-water mark;
  // stop writing until resume_writing(). Called once per crossing.
  virtual void pause_writing() {}
  // The buffer drained to its low-water mark or below; writing may go on.
  virtual void resume_writing() {}
};

// A byte stream: TCP, AF_UNIX, a pipe to a server, one pipe of a subprocess.
class StreamProtocol : public BaseProtocol {
 public:
  // The connection is up. `transport` stays valid until connection_lost() returns.
  // Calling transport.close() here means no read is ever issued.
  virtual void connection_made(StreamTransport& transport) { static_cast<void>(transport); }

  // Bytes arrived. The view is valid during the call only; copy what you keep.
  virtual void data_received(std::string_view data) { static_cast<void>(data); }

  // The peer will send nothing more (rule 20). Return false to close the transport (the
  // default), true to keep it half-open and go on writing.
  virtual bool eof_received() { return false; }
};

// Datagrams (UDP, AF_UNIX SOCK_DGRAM).
class DatagramProtocol : public BaseProtocol {
 public:
  virtual void connection_made(DatagramTransport& transport) { static_cast<void>(transport); }
  // One datagram; the view is valid during the call only.
  virtual void datagram_received(std::string_view data, const SocketAddress& sender) {
    static_cast<void>(data);
    static_cast<void>(sender);
  }
  // A send or receive failed without ending the endpoint (ICMP port unreachable reported
  // as ECONNREFUSED, say).
  virtual void error_received(const std::exception_ptr& /*error*/) {}
};

// A child process and its standard pipes (restrack/proactor/subprocess.h). Order:
// connection_made, then pipe_data_received and pipe_connection_lost per pipe (each pipe's
// data before its lost call) and process_exited in the order they happened, then
// connection_lost once the process has exited and every pipe is closed (rules 28, 29).
// Calls that happen before connection_made are queued and replayed after it.
class SubprocessProtocol : public BaseProtocol {
 public:
  virtual void connection_made(SubprocessTransport& transport) { static_cast<void>(transport); }
  // Output of the child on `fd` (1 or 2).
  virtual void pipe_data_received(int fd, std::string_view data) {
    static_cast<void>(fd);
    static_cast<void>(data);
  }
  // The pipe to the child's `fd` (0, 1 or 2) is closed.
  virtual void pipe_connection_lost(int /*fd*/, const std::exception_ptr& /*error*/) {}
  // The child has exited and was reaped; SubprocessTransport::returncode() has its status.
  virtual void process_exited() {}
};

RESTRACK_NAMESPACE_END
