// The io_uring backend against the real kernel: creation failure, and the io_uring facts
// of rules 4, 8, 10 and 13.
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "loop_fixture.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/future.h"
#include "restrack/proactor/socket.h"
#include "uring_backend.h"

namespace restrack_test {
namespace {

using restrack::EventLoop;
using restrack::Future;

// Runs iterations until `done` holds; the loop blocks in the kernel in between.
template <class Done>
void run_until(EventLoop& loop, Done done) {
  while (!done()) {
    loop.stop();
    loop.run_forever();
  }
}

std::string read_available(const restrack::TrackedFd& socket) {
  char buffer[256];
  const ssize_t count = ::recv(socket.get(), buffer, sizeof buffer, MSG_DONTWAIT);
  return count > 0 ? std::string(buffer, static_cast<std::size_t>(count)) : std::string();
}

std::string creation_error(int simulated_errno) {
  restrack::EventLoopOptions options;
  options.uring.simulated_setup_errno = simulated_errno;
  try {
    EventLoop loop(options);
    loop.close();
  } catch (const restrack::BackendUnavailableError& error) {
    return error.what();
  }
  return "no error";
}

TEST(UringBackendTest, LoopCreationNamesTheCauseWhenTheKernelRefusesIoUring) {
  DiagnosticRecorder diagnostics;
  EXPECT_EQ(creation_error(EPERM),
            "restrack: cannot create the io_uring event loop backend: io_uring_queue_init_params "
            "failed: Operation not permitted; the proactor needs Linux 5.11 or later with "
            "io_uring enabled (io_uring is refused: check the sysctl kernel.io_uring_disabled "
            "and any seccomp sandbox or container profile that blocks io_uring_setup)");
  EXPECT_TRUE(diagnostics.recorded().empty());  // no half-built loop left to report
}

TEST(UringBackendTest, LoopCreationNamesTheKernelRequirementWithoutIoUringSupport) {
  EXPECT_EQ(creation_error(ENOSYS),
            "restrack: cannot create the io_uring event loop backend: io_uring_queue_init_params "
            "failed: Function not implemented; the proactor needs Linux 5.11 or later with "
            "io_uring enabled (this kernel has no io_uring support)");
}

std::string creation_error_for_depth(unsigned depth) {
  restrack::EventLoopOptions options;
  options.uring.queue_depth = depth;
  try {
    EventLoop loop(options);
    loop.close();
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "no error";
}

TEST(UringBackendTest, QueueDepthOutOfRangeIsRejectedNamingTheSettingNotTheKernel) {
  DiagnosticRecorder diagnostics;
  EXPECT_EQ(creation_error_for_depth(0),
            "restrack: UringOptions::queue_depth must be between 1 and 32768, got 0");
  EXPECT_EQ(creation_error_for_depth(100'000),
            "restrack: UringOptions::queue_depth must be between 1 and 32768, got 100000");
  EXPECT_EQ(creation_error_for_depth(1), "no error");
  EXPECT_EQ(creation_error_for_depth(32768), "no error");
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST(UringBackendTest, SubmitThatFailsBeforeTheKernelIsInvolvedLeavesNoStaleEntry) {
  restrack::internal::UringBackend backend{restrack::UringOptions{}};
  int completions = 0;
  int abandons = 0;
  backend.fail_next_insert_for_test();
  EXPECT_THROW(backend.submit(std::make_unique<CountingOperation>(0, &completions, &abandons)),
               std::length_error);
  // An entry taken but never prepared would go to the kernel with the next submission.
  EXPECT_EQ(backend.unsubmitted_entries_for_test(), 0u);
  EXPECT_EQ(backend.in_flight(), 0u);
  backend.close();
}

// An operation of any type submitted straight to the backend; keeps nothing of its end.
class TypedOperation final : public restrack::internal::Operation {
 public:
  TypedOperation(restrack::internal::OperationType operation_type, int fd)
      : Operation(operation_type, fd) {}
  void complete(std::unique_ptr<Operation>) override {}
  void abandon() noexcept override {}
};

TEST(UringBackendTest, ReadAndWriteMoveBytesThroughAPipeDescriptor) {
  using restrack::internal::OperationType;
  restrack::internal::UringBackend backend{restrack::UringOptions{}};
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto write = std::make_unique<TypedOperation>(OperationType::write, fds[1]);
  write->buffer.assign("pipe");
  auto read = std::make_unique<TypedOperation>(OperationType::read, fds[0]);
  read->buffer.allocate(16);
  ASSERT_EQ(backend.submit(std::move(write)).failed, nullptr);
  ASSERT_EQ(backend.submit(std::move(read)).failed, nullptr);
  std::vector<std::unique_ptr<restrack::internal::Operation>> reaped;
  while (reaped.size() < 2) backend.poll(std::chrono::seconds(5), reaped);
  for (const auto& operation : reaped) {
    EXPECT_EQ(operation->result, 4) << to_string(operation->type);
    if (operation->type == OperationType::read) {
      EXPECT_EQ(operation->buffer.view(4), "pipe");
    }
  }
  backend.close();
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(UringBackendTest, AcceptPipeIsAWindowsRequestRefusedAtOnce) {
  restrack::internal::UringBackend backend{restrack::UringOptions{}};
  restrack::internal::Submission submission = backend.submit(
      std::make_unique<TypedOperation>(restrack::internal::OperationType::accept_pipe, 0));
  ASSERT_NE(submission.failed, nullptr);
  EXPECT_EQ(submission.failed->result, -EOPNOTSUPP);
  EXPECT_EQ(backend.in_flight(), 0u);
  backend.close();
}

TEST(UringBackendTest, UnclosedUringLoopWarnsNamingItsBackend) {
  DiagnosticRecorder diagnostics;
  { EventLoop loop; }
  EXPECT_EQ(diagnostics.unclosed(), (std::vector<std::string>{"event loop <backend=io_uring>"}));
}

TEST(UringBackendTest, Rule10SubmittingToAClosedBackendThrowsAClearError) {
  restrack::internal::UringBackend backend{restrack::UringOptions{}};
  backend.close();
  int completions = 0;
  int abandons = 0;
  auto operation = std::make_unique<CountingOperation>(0, &completions, &abandons);
  try {
    backend.submit(std::move(operation));
    FAIL() << "expected LoopClosedError";
  } catch (const restrack::LoopClosedError& error) {
    EXPECT_STREQ(error.what(),
                 "io_uring backend is closed: no operation can be submitted after close()");
  }
}

class UringLoopTest : public testing::Test {
 protected:
  ~UringLoopTest() override {
    if (!loop.is_closed()) loop.close();
  }
  EventLoop loop;
  SocketPair sockets;
};

TEST_F(UringLoopTest, Rule8ClosingTheDescriptorDoesNotAbortAPendingReceive) {
  restrack::TrackedFd duplicate(::dup(sockets.first.get()), restrack::kinds::socket);
  Future<std::string> received = restrack::sock_recv(loop, duplicate, 16);
  loop.stop();
  loop.run_forever();  // the request is now in the kernel
  ASSERT_EQ(duplicate.close(), 0);
  loop.stop();
  loop.run_forever();
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  ASSERT_EQ(::send(sockets.second.get(), "late", 4, 0), 4);
  run_until(loop, [&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "late");  // the "closed" request filled its buffer
}

TEST_F(UringLoopTest, Rule8ShutdownCompletesAPendingReceiveWithZeroBytes) {
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  loop.stop();
  loop.run_forever();
  ASSERT_EQ(::shutdown(sockets.first.get(), SHUT_RDWR), 0);
  run_until(loop, [&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "");  // looks like EOF: transports check their own flag
}

TEST_F(UringLoopTest, Rule4CancelledKernelReceiveEndsWithoutConsumingData) {
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  loop.stop();
  loop.run_forever();
  EXPECT_TRUE(received.cancel());
  run_until(loop, [&] { return loop.operations_in_flight() == 0; });
  EXPECT_TRUE(received.cancelled());
  ASSERT_EQ(::send(sockets.second.get(), "kept", 4, 0), 4);
  EXPECT_EQ(read_available(sockets.first), "kept");
}

TEST_F(UringLoopTest, Rule13CloseWithReceivesInFlightThenPeerWritesStaysClean) {
  std::vector<std::unique_ptr<SocketPair>> pairs;
  std::vector<Future<std::string>> received;
  for (int i = 0; i < 100; ++i) {
    pairs.push_back(std::make_unique<SocketPair>());
    received.push_back(restrack::sock_recv(loop, pairs.back()->first, 64));
  }
  loop.stop();
  loop.run_forever();
  EXPECT_EQ(loop.operations_in_flight(), 100u);
  loop.close();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  for (Future<std::string>& future : received) EXPECT_TRUE(future.cancelled());
  received.clear();  // every buffer is freed now
  for (auto& pair : pairs) ASSERT_EQ(::send(pair->second.get(), "after", 5, 0), 5);
  // Under ASan a late kernel write into a freed buffer would be caught; here the data must
  // still be waiting in each socket, untouched by the cancelled requests.
  for (auto& pair : pairs) EXPECT_EQ(read_available(pair->first), "after");
}

TEST_F(UringLoopTest, Rule1CancelledReceiveStaysWithTheBackendUntilItsCompletionIsReaped) {
  {
    Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
    loop.stop();
    loop.run_forever();
    EXPECT_TRUE(received.cancel());
  }  // every user reference is gone; under ASan a premature free would be caught below
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  run_until(loop, [&] { return loop.operations_in_flight() == 0; });
  EXPECT_EQ(restrack::operations_freed_in_flight(), 0u);
}

TEST_F(UringLoopTest, Rule3DataAlreadyWaitingIsStillDeliveredOnALaterIteration) {
  ASSERT_EQ(::send(sockets.second.get(), "ready", 5, 0), 5);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  EXPECT_FALSE(received.done());
  run_until(loop, [&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "ready");
}

TEST_F(UringLoopTest, Rule9ClosingTheRunningLoopFromACallbackThrows) {
  bool refused = false;
  loop.call_soon([&] {
    try {
      loop.close();
    } catch (const std::logic_error&) {
      refused = true;
    }
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(refused);
  EXPECT_FALSE(loop.is_closed());
}

TEST_F(UringLoopTest, Rule11PendingAcceptIsCancelledAtCloseAndTakesNoLaterConnection) {
  restrack::TrackedFd listener = restrack::listen_on(restrack::SocketAddress::ipv4("127.0.0.1", 0));
  Future<restrack::TrackedFd> accepted = restrack::sock_accept(loop, listener);
  loop.stop();
  loop.run_forever();
  loop.close();
  EXPECT_TRUE(accepted.cancelled());
  // A connection made after close waits in the backlog: no stale accept took it.
  restrack::TrackedFd client = restrack::open_socket(AF_INET, SOCK_STREAM);
  const restrack::SocketAddress address = restrack::local_address(listener);
  const int connected = ::connect(client.get(), address.get(), address.length());
  ASSERT_TRUE(connected == 0 || errno == EINPROGRESS);  // non-blocking: may be in progress
  pollfd readable{listener.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&readable, 1, 5000), 1);
  restrack::TrackedFd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC),
                                 restrack::kinds::socket);
  EXPECT_TRUE(connection.is_open());
  connection.close();
  client.close();
  listener.close();
}

TEST_F(UringLoopTest, ForkedChildCannotUseOrDrainTheParentsLoop) {
  restrack::TrackedFd listener = restrack::listen_on(restrack::SocketAddress::ipv4("127.0.0.1", 0));
  Future<restrack::TrackedFd> accepted = restrack::sock_accept(loop, listener);
  loop.stop();
  loop.run_forever();  // the accept is in the kernel's hands
  const pid_t child = ::fork();
  if (child == 0) {
    // The child's copy of the loop refuses to run, and closing it leaves the parent's
    // operations alone.
    int status = 0;
    try {
      loop.run_forever();
      status = 1;
    } catch (const std::logic_error& error) {
      const std::string expected =
          "restrack: cannot run: this event loop's io_uring ring was set up by process ";
      if (std::string(error.what()).rfind(expected, 0) != 0) status = 2;
    }
    loop.close();
    ::_exit(status);
  }
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The parent's accept is still pending and takes the next connection.
  restrack::TrackedFd client = restrack::open_socket(AF_INET, SOCK_STREAM);
  const restrack::SocketAddress address = restrack::local_address(listener);
  const int connected = ::connect(client.get(), address.get(), address.length());
  ASSERT_TRUE(connected == 0 || errno == EINPROGRESS);
  run_until(loop, [&] { return accepted.done(); });
  restrack::TrackedFd connection = accepted.take_result();
  EXPECT_TRUE(connection.is_open());
  connection.close();
  client.close();
  listener.close();
}

TEST_F(UringLoopTest, CallSoonThreadsafeWakesALoopBlockedInTheKernel) {
  std::thread::id ran_on;
  std::thread poster;
  loop.call_soon([&] {
    // Started from inside the loop, so the post races the loop going to sleep.
    poster = std::thread([&] {
      loop.call_soon_threadsafe([&] {
        ran_on = std::this_thread::get_id();
        loop.stop();
      });
    });
  });
  loop.run_forever();
  poster.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace restrack_test
