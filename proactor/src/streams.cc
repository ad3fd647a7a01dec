// Streams: StreamReader/StreamWriter over a stream transport, and Process over a subprocess
// transport — asyncio's streams, built only on the public transport and protocol API.
#include "restrack/proactor/streams.h"

#include <algorithm>
#include <array>
#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "stream_protocols.h"
#include "stream_transport.h"

RESTRACK_NAMESPACE_BEGIN

IncompleteReadError::IncompleteReadError(std::string partial_bytes, std::size_t expected_bytes)
    : std::runtime_error(std::to_string(partial_bytes.size()) + " bytes read on a total of " +
                         std::to_string(expected_bytes) + " expected bytes"),
      partial(std::move(partial_bytes)),
      expected(expected_bytes) {}

namespace internal {

// The buffer a StreamReader reads from, fed by the protocol, and the read waiting on it.
class StreamReaderState {
 public:
  StreamReaderState(EventLoop& loop, std::size_t limit) : loop_(loop), limit_(limit) {}

  void set_transport(StreamTransport* transport) noexcept { transport_ = transport; }

  void feed_data(std::string_view data) {
    buffer_.append(data);
    wake();
    // Backpressure: stop reading from the transport while more than twice the limit waits,
    // unless a read still waits for more (to end-of-file, or a count beyond that).
    if (transport_ != nullptr && !paused_ && buffer_.size() > 2 * limit_ && !read_needs_more()) {
      paused_ = true;
      transport_->pause_reading();
    }
  }
  void feed_eof() {
    eof_ = true;
    wake();
  }
  void set_exception(const std::exception_ptr& error) {
    error_ = error;
    wake();
  }

  // Throws if another task's read is waiting (one whose task was cancelled no longer counts).
  void check_alone(const StreamRead& read) const {
    if (waiting_ != nullptr && waiting_ != &read && !waiting_->waiter_.cancelled()) {
      throw std::logic_error("another task is already reading this stream");
    }
  }
  // True when `read` can complete now: with bytes, at end-of-file, or with the error.
  bool ready(StreamRead& read) {
    if (eof_ || error_ != nullptr) return true;
    switch (read.until_) {
      case StreamRead::Until::some:
        return read.count_ == 0 || !buffer_.empty();
      case StreamRead::Until::end_of_file:
        return false;
      case StreamRead::Until::count:
        return buffer_.size() >= read.count_;
      case StreamRead::Until::separator:
      case StreamRead::Until::line:
        break;
    }
    if (buffer_.find(read.separator_, read.searched_) != std::string::npos) return true;
    if (buffer_.size() > limit_) return true;
    // What is searched need not be searched again when more arrives.
    if (buffer_.size() >= read.separator_.size()) {
      read.searched_ = buffer_.size() - read.separator_.size() + 1;
    }
    return false;
  }
  // The result of `read`, once ready(read): the bytes, taken from the buffer, or the
  // exception.
  std::string complete(const StreamRead& read) {
    switch (read.until_) {
      case StreamRead::Until::some:
        if (read.count_ == 0) return {};
        rethrow_if_empty();
        return take(std::min(read.count_, buffer_.size()));
      case StreamRead::Until::end_of_file:
        rethrow_if_empty();
        return take(buffer_.size());
      case StreamRead::Until::count:
        if (buffer_.size() < read.count_) {
          if (error_ != nullptr) std::rethrow_exception(error_);
          throw IncompleteReadError(take(buffer_.size()), read.count_);
        }
        return take(read.count_);
      case StreamRead::Until::separator:
      case StreamRead::Until::line:
        break;
    }
    const std::size_t found = buffer_.find(read.separator_, read.searched_);
    if (found != std::string::npos) {
      const std::size_t end = found + read.separator_.size();
      if (end > limit_) {
        throw LimitOverrunError("read_until: separator found, but chunk exceeds the limit", end);
      }
      return take(end);
    }
    if (buffer_.size() > limit_) {
      throw LimitOverrunError("read_until: separator not found, and chunk exceeds the limit",
                              buffer_.size());
    }
    if (error_ != nullptr && buffer_.empty()) std::rethrow_exception(error_);
    if (read.until_ == StreamRead::Until::line) return take(buffer_.size());
    throw IncompleteReadError(take(buffer_.size()), 0);
  }
  void wait(StreamRead& read) {
    waiting_ = &read;
    // The read needs more than is buffered: reading from the transport goes on.
    if (paused_ && transport_ != nullptr) {
      paused_ = false;
      transport_->resume_reading();
    }
  }
  void stop_waiting(const StreamRead& read) noexcept {
    if (waiting_ == &read) waiting_ = nullptr;
  }

  EventLoop& loop() const noexcept { return loop_; }
  bool at_eof() const noexcept { return eof_ && buffer_.empty(); }
  std::exception_ptr exception() const noexcept { return error_; }
  std::size_t limit() const noexcept { return limit_; }

 private:
  // A read waits, and what is buffered does not complete it.
  bool read_needs_more() const noexcept { return waiting_ != nullptr && !waiting_->waiter_.done(); }
  // Wakes the waiting read only once it can complete, so a task resumes once per read.
  void wake() {
    if (waiting_ == nullptr || waiting_->waiter_.done() || !ready(*waiting_)) return;
    waiting_->waiter_.set_result();
  }
  void rethrow_if_empty() const {
    if (buffer_.empty() && error_ != nullptr) std::rethrow_exception(error_);
  }
  std::string take(std::size_t count) {
    std::string taken;
    if (count == buffer_.size()) {
      taken.swap(buffer_);
    } else {
      taken = buffer_.substr(0, count);
      buffer_.erase(0, count);
    }
    if (paused_ && buffer_.size() <= limit_ && transport_ != nullptr) {
      paused_ = false;
      transport_->resume_reading();
    }
    return taken;
  }

  EventLoop& loop_;
  std::size_t limit_;
  StreamTransport* transport_ = nullptr;
  std::string buffer_;
  StreamRead* waiting_ = nullptr;  // the read a task waits on (its waiter_ is pending)
  std::exception_ptr error_;
  bool eof_ = false;
  bool paused_ = false;
};

// Flow control and closing as a StreamWriter sees them.
class StreamWriterState {
 public:
  explicit StreamWriterState(EventLoop& loop) : loop_(loop) {}

  // The writer owns the transport of a connection (`owned`), not the pipe of a subprocess.
  void attach(StreamTransport* transport, std::shared_ptr<StreamTransport> owned) {
    transport_ = transport;
    owned_ = std::move(owned);
  }
  StreamTransport& transport() const noexcept { return *transport_; }

  void pause() noexcept { paused_ = true; }
  void resume() {
    paused_ = false;
    wake_drainers(nullptr);
  }
  void lost(const std::exception_ptr& error) {
    lost_ = true;
    error_ = error;
    wake_drainers(error);
    for (Future<void>& waiter : closed_waiters_) {
      if (!waiter.done()) waiter.set_result();
    }
    closed_waiters_.clear();
  }

  Future<void> drain() {
    if (error_ == nullptr && (!paused_ || lost_)) {
      // The common case, once per write: one finished future serves every such drain
      // (awaiting it does not suspend), rather than a new traced future each time.
      if (!finished_) {
        finished_ = Future<void>::create(loop_);
        finished_->set_result();
      }
      return *finished_;
    }
    Future<void> waiter = Future<void>::create(loop_);
    if (error_ != nullptr) {
      waiter.set_exception(error_);
    } else {
      drainers_.push_back(waiter);
    }
    return waiter;
  }
  Future<void> wait_closed() {
    Future<void> waiter = Future<void>::create(loop_);
    if (lost_) {
      waiter.set_result();
    } else {
      closed_waiters_.push_back(waiter);
    }
    return waiter;
  }

 private:
  void wake_drainers(const std::exception_ptr& error) {
    std::vector<Future<void>> drainers = std::move(drainers_);
    drainers_.clear();
    for (Future<void>& waiter : drainers) {
      if (waiter.done()) continue;
      if (error != nullptr) {
        waiter.set_exception(error);
      } else {
        waiter.set_result();
      }
    }
  }

  EventLoop& loop_;
  StreamTransport* transport_ = nullptr;
  std::shared_ptr<StreamTransport> owned_;
  std::vector<Future<void>> drainers_;
  std::optional<Future<void>> finished_;
  std::vector<Future<void>> closed_waiters_;
  std::exception_ptr error_;
  bool paused_ = false;
  bool lost_ = false;
};

}  // namespace internal

struct StreamAccess {
  static StreamReader reader(std::shared_ptr<internal::StreamReaderState> state) {
    return StreamReader(std::move(state));
  }
  static StreamWriter writer(std::shared_ptr<internal::StreamWriterState> state) {
    return StreamWriter(std::move(state));
  }
  static Process process(std::shared_ptr<internal::ProcessState> state) {
    return Process(std::move(state));
  }
  static const std::shared_ptr<internal::StreamWriterState>& state(const StreamWriter& writer) {
    return writer.state_;
  }
};

namespace internal {

// The protocol under a reader and a writer (asyncio's StreamReaderProtocol). On a server
// it also starts the client's task once connected and closes the connection when the task
// ends.
class StreamReaderProtocol final : public StreamProtocol {
 public:
  StreamReaderProtocol(EventLoop& loop, std::size_t limit, ClientConnected client_connected = {})
      : reader_(std::make_shared<StreamReaderState>(loop, limit)),
        writer_(std::make_shared<StreamWriterState>(loop)),
        client_connected_(std::move(client_connected)) {}

  void connection_made(StreamTransport& transport) override {
    transport_ = &transport;
    reader_->set_transport(&transport);
    if (!client_connected_) return;
    // A server's connection: the server owns the transport; the client's task gets the
    // streams and runs until it is done.
    writer_->attach(&transport, nullptr);
    EventLoop& loop = transport.loop();
    client_task_ = loop.create_task(
        client_connected_(StreamAccess::reader(reader_), StreamAccess::writer(writer_)));
    // Weak links only: the task may end after the connection and its protocol are gone.
    auto* served = dynamic_cast<SocketTransport*>(&transport);
    std::weak_ptr<SocketTransport> connection =
        served != nullptr ? served->weak_from_this() : std::weak_ptr<SocketTransport>();
    std::weak_ptr<TaskState<void>> task = TaskAccess::state(client_task_);
    client_task_.add_done_callback([&loop, connection, task] {
      if (std::shared_ptr<TaskState<void>> finished = task.lock()) {
        if (std::exception_ptr error = finished->exception()) {
          loop.call_exception_handler(ExceptionContext{
              "exception in a start_server client task", error, CallSite{}, {}, kNoTrace});
        }
      }
      if (std::shared_ptr<SocketTransport> open = connection.lock()) open->close();
    });
  }
  void data_received(std::string_view data) override { reader_->feed_data(data); }
  bool eof_received() override {
    reader_->feed_eof();
    return true;  // the writer may still write (asyncio keeps the transport open too)
  }
  void connection_lost(const std::exception_ptr& error) override {
    if (error != nullptr) {
      reader_->set_exception(error);
    } else {
      reader_->feed_eof();
    }
    reader_->set_transport(nullptr);
    writer_->lost(error);
  }
  void pause_writing() override { writer_->pause(); }
  void resume_writing() override { writer_->resume(); }

  const std::shared_ptr<StreamReaderState>& reader() const noexcept { return reader_; }
  const std::shared_ptr<StreamWriterState>& writer() const noexcept { return writer_; }

 private:
  std::shared_ptr<StreamReaderState> reader_;
  std::shared_ptr<StreamWriterState> writer_;
  ClientConnected client_connected_;
  StreamTransport* transport_ = nullptr;
  Task<void> client_task_;
};

Task<std::pair<StreamReader, StreamWriter>> streams_of(
    Task<std::shared_ptr<StreamTransport>> connecting,
    std::shared_ptr<StreamReaderProtocol> protocol) {
  std::shared_ptr<StreamTransport> transport = co_await connecting;
  protocol->writer()->attach(transport.get(), transport);
  co_return std::pair{StreamAccess::reader(protocol->reader()),
                      StreamAccess::writer(protocol->writer())};
}

}  // namespace internal

StreamRead::~StreamRead() {
  if (state_ != nullptr) state_->stop_waiting(*this);
}

bool StreamRead::await_ready() {
  state_->check_alone(*this);
  return state_->ready(*this);
}

void StreamRead::await_suspend(std::coroutine_handle<> awaiting) {
  waiter_ = Future<void>::create(state_->loop());
  state_->wait(*this);
  waiting_.emplace(waiter_.operator co_await());
  waiting_->await_suspend(awaiting);
}

std::string StreamRead::await_resume() {
  if (waiting_) {
    state_->stop_waiting(*this);
    // CancelledError if the task was cancelled, even after the wake-up: nothing taken yet.
    waiting_->await_resume();
  }
  return state_->complete(*this);
}

namespace internal {
namespace {
Task<std::string> read_as_task(StreamRead read) { co_return co_await std::move(read); }
}  // namespace
}  // namespace internal

StreamRead::operator Task<std::string>() && { return internal::read_as_task(std::move(*this)); }

StreamRead StreamReader::read(std::optional<std::size_t> max_bytes) {
  if (!max_bytes) return StreamRead(state_, StreamRead::Until::end_of_file, 0);
  return StreamRead(state_, StreamRead::Until::some, *max_bytes);
}
StreamRead StreamReader::read_exactly(std::size_t count) {
  return StreamRead(state_, StreamRead::Until::count, count);
}
StreamRead StreamReader::read_until(std::string separator) {
  if (separator.empty()) throw std::invalid_argument("read_until: empty separator");
  return StreamRead(state_, StreamRead::Until::separator, 0, std::move(separator));
}
StreamRead StreamReader::read_line() {
  return StreamRead(state_, StreamRead::Until::line, 0, "\n");
}
bool StreamReader::at_eof() const noexcept { return state_->at_eof(); }
std::exception_ptr StreamReader::exception() const noexcept { return state_->exception(); }
std::size_t StreamReader::limit() const noexcept { return state_->limit(); }

void StreamWriter::write(std::string_view data) { state_->transport().write(data); }
void StreamWriter::write_eof() { state_->transport().write_eof(); }
bool StreamWriter::can_write_eof() const noexcept { return state_->transport().can_write_eof(); }
Future<void> StreamWriter::drain() { return state_->drain(); }
void StreamWriter::close() { state_->transport().close(); }
bool StreamWriter::is_closing() const noexcept { return state_->transport().is_closing(); }
Future<void> StreamWriter::wait_closed() { return state_->wait_closed(); }
StreamTransport& StreamWriter::transport() const noexcept { return state_->transport(); }

Task<std::pair<StreamReader, StreamWriter>> open_connection(EventLoop& loop,
                                                            const SocketAddress& address,
                                                            std::size_t limit, CallSite where) {
  auto protocol = std::make_shared<internal::StreamReaderProtocol>(loop, limit);
  return internal::streams_of(create_connection(
                                  loop, [protocol] { return protocol; }, address, where),
                              protocol);
}

Server start_server(EventLoop& loop, ClientConnected client_connected, const SocketAddress& address,
                    std::size_t limit, CallSite where) {
  return create_server(
      loop,
      [&loop, limit, client_connected = std::move(client_connected)] {
        return std::make_shared<internal::StreamReaderProtocol>(loop, limit, client_connected);
      },
      address, {}, where);
}

namespace internal {

std::shared_ptr<StreamReaderProtocol> make_stream_protocol(EventLoop& loop, std::size_t limit) {
  return std::make_shared<StreamReaderProtocol>(loop, limit);
}

std::shared_ptr<StreamProtocol> make_server_stream_protocol(EventLoop& loop, std::size_t limit,
                                                            ClientConnected client_connected) {
  return std::make_shared<StreamReaderProtocol>(loop, limit, std::move(client_connected));
}

StreamProtocolFactory protocol_factory(std::shared_ptr<StreamReaderProtocol> protocol) {
  return [protocol = std::move(protocol)] { return protocol; };
}

}  // namespace internal

// --- Processes ---

namespace internal {

// asyncio's SubprocessStreamProtocol: the pipes as streams; the transport is closed once
// the child has exited and every pipe is closed.
class SubprocessStreamProtocol final : public SubprocessProtocol {
 public:
  SubprocessStreamProtocol(EventLoop& loop, std::size_t limit) : loop_(loop), limit_(limit) {}

  void connection_made(SubprocessTransport& transport) override {
    transport_ = &transport;
    for (int fd = 0; fd < 3; ++fd) {
      StreamTransport* pipe = transport.pipe_transport(fd);
      if (pipe == nullptr) continue;
      open_pipes_[static_cast<std::size_t>(fd)] = true;
      if (fd == 0) {
        stdin_ = std::make_shared<StreamWriterState>(loop_);
        stdin_->attach(pipe, nullptr);
      } else {
        auto& reader = fd == 1 ? stdout_ : stderr_;
        reader = std::make_shared<StreamReaderState>(loop_, limit_);
        reader->set_transport(pipe);
      }
    }
  }
  void pipe_data_received(int fd, std::string_view data) override {
    if (const auto& reader = fd == 1 ? stdout_ : stderr_) reader->feed_data(data);
  }
  void pipe_connection_lost(int fd, const std::exception_ptr& error) override {
    open_pipes_[static_cast<std::size_t>(fd)] = false;
    if (fd == 0) {
      if (stdin_) stdin_->lost(error);
    } else if (const auto& reader = fd == 1 ? stdout_ : stderr_) {
      reader->set_transport(nullptr);
      if (error != nullptr) {
        reader->set_exception(error);
      } else {
        reader->feed_eof();
      }
    }
    maybe_close_transport();
  }
  void process_exited() override {
    exited_ = true;
    maybe_close_transport();
  }
  void pause_writing() override {
    if (stdin_) stdin_->pause();
  }
  void resume_writing() override {
    if (stdin_) stdin_->resume();
  }

  std::shared_ptr<StreamWriterState> stdin_;
  std::shared_ptr<StreamReaderState> stdout_;
  std::shared_ptr<StreamReaderState> stderr_;

 private:
  void maybe_close_transport() {
    if (!exited_ || transport_ == nullptr) return;
    for (bool open : open_pipes_) {
      if (open) return;
    }
    transport_->close();
  }

  EventLoop& loop_;
  std::size_t limit_;
  SubprocessTransport* transport_ = nullptr;
  std::array<bool, 3> open_pipes_{};
  bool exited_ = false;
};

class ProcessState {
 public:
  std::shared_ptr<SubprocessTransport> transport;
  std::shared_ptr<SubprocessStreamProtocol> protocol;
  StreamWriter stdin_writer;
  StreamReader stdout_reader;
  StreamReader stderr_reader;
};

Task<Process> process_of(Task<std::shared_ptr<SubprocessTransport>> spawning,
                         std::shared_ptr<SubprocessStreamProtocol> protocol) {
  auto state = std::make_shared<ProcessState>();
  state->transport = co_await spawning;
  state->protocol = protocol;
  if (protocol->stdin_) state->stdin_writer = StreamAccess::writer(protocol->stdin_);
  if (protocol->stdout_) state->stdout_reader = StreamAccess::reader(protocol->stdout_);
  if (protocol->stderr_) state->stderr_reader = StreamAccess::reader(protocol->stderr_);
  co_return StreamAccess::process(std::move(state));
}

std::shared_ptr<SubprocessStreamProtocol> make_subprocess_protocol(EventLoop& loop,
                                                                   std::size_t limit) {
  return std::make_shared<SubprocessStreamProtocol>(loop, limit);
}

SubprocessProtocolFactory protocol_factory(std::shared_ptr<SubprocessStreamProtocol> protocol) {
  return [protocol = std::move(protocol)] { return protocol; };
}

namespace {

Task<std::string> read_all(StreamReader reader) { co_return co_await reader.read(); }

}  // namespace
}  // namespace internal

int Process::pid() const noexcept { return state_->transport->pid(); }
std::optional<int> Process::returncode() const noexcept { return state_->transport->returncode(); }
StreamWriter* Process::stdin_stream() noexcept {
  return state_->protocol->stdin_ ? &state_->stdin_writer : nullptr;
}
StreamReader* Process::stdout_stream() noexcept {
  return state_->protocol->stdout_ ? &state_->stdout_reader : nullptr;
}
StreamReader* Process::stderr_stream() noexcept {
  return state_->protocol->stderr_ ? &state_->stderr_reader : nullptr;
}

Task<int> Process::wait() {
  std::shared_ptr<internal::ProcessState> state = state_;
  co_return co_await state->transport->wait();
}

Task<std::pair<std::string, std::string>> Process::communicate(std::string input) {
  std::shared_ptr<internal::ProcessState> state = state_;
  EventLoop& loop = state->transport->pipe_transport(0) != nullptr
                        ? state->transport->pipe_transport(0)->loop()
                        : EventLoop::running_loop();
  Task<std::string> out;
  Task<std::string> err;
  if (state->protocol->stdout_) out = loop.create_task(internal::read_all(state->stdout_reader));
  if (state->protocol->stderr_) err = loop.create_task(internal::read_all(state->stderr_reader));
  if (state->protocol->stdin_) {
    StreamWriter& writer = state->stdin_writer;
    if (!input.empty() && !writer.is_closing()) {
      writer.write(input);
      try {
        co_await writer.drain();
      } catch (const std::system_error&) {
        // The child closed its stdin early (a broken pipe): not an error of communicate().
      }
    }
    writer.close();
  }
  std::pair<std::string, std::string> output;
  if (state->protocol->stdout_) output.first = co_await out;
  if (state->protocol->stderr_) output.second = co_await err;
  co_await state->transport->wait();
  co_return output;
}

void Process::send_signal(int signal) { state_->transport->send_signal(signal); }
void Process::terminate() { state_->transport->terminate(); }
void Process::kill() { state_->transport->kill(); }
void Process::close() { state_->transport->close(); }

RESTRACK_NAMESPACE_END
