// restrack/proactor/streams.h — coroutine streams on top of transports.
//
// The high-level API (asyncio's streams): a connection is a StreamReader and a StreamWriter,
// a subprocess is a Process with its pipes as streams. Underneath are the same transports
// and protocols (transport.h, subprocess.h) and the same tracking.
//
//   auto [reader, writer] = co_await restrack::open_connection(loop, address);
//   writer.write("GET\n");
//   co_await writer.drain();
//   std::string line = co_await reader.read_line();
//   writer.close();
//   co_await writer.wait_closed();
//
// Readers and writers are handles: copies refer to the same stream. The writer owns the
// transport: dropping the last writer handle without close() reports "unclosed transport".
// Everything runs on the loop's thread, from tasks.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "restrack/config.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/server.h"
#include "restrack/proactor/subprocess.h"
#include "restrack/proactor/task.h"
#include "restrack/proactor/transport.h"

RESTRACK_NAMESPACE_BEGIN

namespace internal {
class StreamReaderState;
class StreamWriterState;
class ProcessState;
}  // namespace internal

// Default buffer limit of a reader (asyncio's 64 KiB): read_until fails past it, and
// reading from the transport pauses while more than twice as much is buffered, unless a
// read waits for more than that (read() to end-of-file, a larger read_exactly()).
inline constexpr std::size_t kDefaultStreamLimit = std::size_t{64} << 10;

// read_exactly() met end-of-file first. `partial` holds what was read.
class IncompleteReadError : public std::runtime_error {
 public:
  IncompleteReadError(std::string partial, std::size_t expected);
  std::string partial;
  std::size_t expected;
};

// read_until() found no separator within the limit. The data stays in the buffer.
class LimitOverrunError : public std::runtime_error {
 public:
  LimitOverrunError(const std::string& what, std::size_t consumed_bytes)
      : std::runtime_error(what), consumed(consumed_bytes) {}
  std::size_t consumed;
};

// A read on a StreamReader: what read(), read_exactly(), read_until() and read_line()
// return. Await it once, in a task:
//
//   std::string reply = co_await reader.read_exactly(4);
//
// When the buffer already holds the answer (or end-of-file or the connection's error was
// seen), the co_await completes without suspending. Otherwise the task waits, and is woken
// once, when the read can complete: the wake-up goes through the loop's ready queue (rule 3)
// and the bytes are taken from the buffer when the task resumes. Cancelling the waiting task
// raises CancelledError at the co_await and takes nothing from the buffer, also when the
// wake-up was already on its way.
//
// One read at a time: starting a read while another task's read waits on the same stream
// throws std::logic_error ("another task is already reading this stream").
//
// To run a read as a task of its own (create_task, wait_for, gather), convert it:
//
//   restrack::Task<std::string> line = reader.read_line();
class StreamRead {
 public:
  StreamRead(StreamRead&&) noexcept = default;
  StreamRead& operator=(StreamRead&&) = delete;
  // A read destroyed while its task waits (the task is being destroyed) stops waiting.
  ~StreamRead();

  bool await_ready();
  void await_suspend(std::coroutine_handle<> awaiting);
  std::string await_resume();

  // A task that performs this read (start it, or await it, as any task).
  operator Task<std::string>() &&;  // NOLINT(google-explicit-constructor): reads are tasks too

 private:
  friend class StreamReader;
  friend class internal::StreamReaderState;
  enum class Until : std::uint8_t { some, end_of_file, count, separator, line };
  StreamRead(std::shared_ptr<internal::StreamReaderState> state, Until until, std::size_t count,
             std::string separator = {}) noexcept
      : state_(std::move(state)), until_(until), count_(count), separator_(std::move(separator)) {}

  std::shared_ptr<internal::StreamReaderState> state_;
  Until until_;
  std::size_t count_;         // some: at most; count: exactly
  std::string separator_;     // separator, line
  std::size_t searched_ = 0;  // bytes of the buffer known not to start the separator
  Future<void> waiter_;       // pending while the task waits; done once the read can complete
  std::optional<internal::StateAwaiter<Future<void>::State>> waiting_;
};

class StreamReader {
 public:
  StreamReader() = default;

  // Up to `max_bytes` (at least one unless at end-of-file: then ""). Without a value:
  // everything until end-of-file.
  StreamRead read(std::optional<std::size_t> max_bytes = {});
  // Exactly `count` bytes; IncompleteReadError if end-of-file comes first.
  StreamRead read_exactly(std::size_t count);
  // Up to and including `separator`. At end-of-file without it: IncompleteReadError. More
  // than the limit buffered without it: LimitOverrunError. An empty separator throws
  // std::invalid_argument.
  StreamRead read_until(std::string separator);
  // read_until("\n"), except that end-of-file returns what is left (maybe "").
  StreamRead read_line();
  // True once end-of-file was seen and the buffer is empty.
  bool at_eof() const noexcept;
  // The connection's error, if it ended with one (reads rethrow it once the buffer is
  // empty).
  std::exception_ptr exception() const noexcept;
  std::size_t limit() const noexcept;

 private:
  friend struct StreamAccess;
  explicit StreamReader(std::shared_ptr<internal::StreamReaderState> state) noexcept
      : state_(std::move(state)) {}
  std::shared_ptr<internal::StreamReaderState> state_;
};

class StreamWriter {
 public:
  StreamWriter() = default;

  // Copies `data` into the transport's buffer (see StreamTransport::write).
  void write(std::string_view data);
  void write_eof();
  bool can_write_eof() const noexcept;
  // Completes when the transport's buffer is at or below its low-water mark (at once if
  // writing is not paused); rethrows the connection's error if it was lost with one.
  Future<void> drain();
  // Closes the transport (flushing what is buffered). Idempotent.
  void close();
  bool is_closing() const noexcept;
  // Completes once the transport has called connection_lost.
  Future<void> wait_closed();
  StreamTransport& transport() const noexcept;

 private:
  friend struct StreamAccess;
  explicit StreamWriter(std::shared_ptr<internal::StreamWriterState> state) noexcept
      : state_(std::move(state)) {}
  std::shared_ptr<internal::StreamWriterState> state_;
};

// Opens a stream connection to `address` (TCP or AF_UNIX).
Task<std::pair<StreamReader, StreamWriter>> open_connection(EventLoop& loop,
                                                            const SocketAddress& address,
                                                            std::size_t limit = kDefaultStreamLimit,
                                                            CallSite where = CallSite::current());

// Connects to the pipe `name` (restrack/proactor/pipe.h) as streams.
Task<std::pair<StreamReader, StreamWriter>> open_pipe_connection(
    EventLoop& loop, const std::string& name, std::size_t limit = kDefaultStreamLimit,
    CallSite where = CallSite::current());

// Called for each client of start_server(): a task that gets the connection's streams.
// The server owns the connection and runs the task to its end; when the task ends the
// connection is closed (flushing what was written). An exception escaping the task goes to
// the loop's exception handler.
using ClientConnected = std::function<Task<void>(StreamReader, StreamWriter)>;

// A server whose clients are streams, served by `client_connected` tasks.
Server start_server(EventLoop& loop, ClientConnected client_connected, const SocketAddress& address,
                    std::size_t limit = kDefaultStreamLimit, CallSite where = CallSite::current());
Server start_pipe_server(EventLoop& loop, ClientConnected client_connected, const std::string& name,
                         std::size_t limit = kDefaultStreamLimit,
                         CallSite where = CallSite::current());

// A child process with its pipes as streams (create_subprocess_exec).
class Process {
 public:
  Process() = default;

  int pid() const noexcept;
  std::optional<int> returncode() const noexcept;
  // The child's stdin as a writer, stdout and stderr as readers; null handles (nullptr
  // from the accessors) for descriptors that are not pipes.
  StreamWriter* stdin_stream() noexcept;
  StreamReader* stdout_stream() noexcept;
  StreamReader* stderr_stream() noexcept;

  // Waits for the exit and returns returncode().
  Task<int> wait();
  // Writes `input` to stdin and closes it, reads stdout and stderr to end-of-file, waits
  // for the exit; returns {stdout, stderr} (empty for non-pipes).
  Task<std::pair<std::string, std::string>> communicate(std::string input = {});
  void send_signal(int signal);
  void terminate();
  void kill();
  // Closes the transport (rule 31). Call it when done, as for any transport.
  void close();

 private:
  friend struct StreamAccess;
  explicit Process(std::shared_ptr<internal::ProcessState> state) noexcept
      : state_(std::move(state)) {}
  std::shared_ptr<internal::ProcessState> state_;
};

Task<Process> create_subprocess_exec(EventLoop& loop, std::vector<std::string> argv,
                                     const SubprocessOptions& options,
                                     std::size_t limit = kDefaultStreamLimit,
                                     CallSite where = CallSite::current());
// With default options (an overload: see subprocess_exec).
Task<Process> create_subprocess_exec(EventLoop& loop, std::vector<std::string> argv,
                                     CallSite where = CallSite::current());

// Builds the handles (internal).
struct StreamAccess;

RESTRACK_NAMESPACE_END
