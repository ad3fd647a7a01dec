// Named pipe handles on the IOCP backend (Windows; under Wine in CI): a Socket that owns a
// pipe HANDLE (TrackedSocket::from_handle) is read with ReadFile, written with WriteFile,
// and a pipe instance waits for its client with ConnectNamedPipe. Rule 2's pipe cases (done
// at once keeps its packet; broken pipe as end-of-file; a client already connected), rule 4
// with CancelIoEx, rules 10 and 13 (close cancels and drains), and EPIPE for a write whose
// reader is gone; rule 14's order (a pipe server's next instance before the connected one
// is handed over); rule 17 against a real named pipe whose instances are all taken.
#include <winsock2.h>

#include <windows.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "iocp_backend.h"
#include "iocp_loop_fixture.h"
#include "operation.h"
#include "pipe_retry.h"
#include "restrack/kind.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/pipe.h"
#include "restrack/proactor/server.h"
#include "restrack/proactor/socket.h"
#include "transport_fixture.h"
#include "transport_loop_fixture.h"

namespace restrack_test {
namespace {

using restrack::Future;
using restrack::Socket;
using restrack::internal::Operation;
using restrack::internal::OperationType;

// "\\.\pipe\restrack_iocp_<pid>_<n>": a name no other test (or test program) uses.
std::wstring unique_pipe_name() {
  static std::atomic<int> counter{0};
  return L"\\\\.\\pipe\\restrack_iocp_" + std::to_wstring(::GetCurrentProcessId()) + L"_" +
         std::to_wstring(counter.fetch_add(1));
}

// An overlapped pipe instance, one per name, waiting for its client.
Socket create_instance(const std::wstring& name) {
  return Socket::from_handle(::CreateNamedPipeW(
      name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 4096, 4096,
      0, nullptr));
}

// The client end of `name`, opened for overlapped I/O.
Socket open_client(const std::wstring& name) {
  return Socket::from_handle(::CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                           OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr));
}

// Both ends of one connected named pipe.
struct PipePair {
  PipePair() : name(unique_pipe_name()), server(create_instance(name)), client(open_client(name)) {
    EXPECT_TRUE(server.is_open());
    EXPECT_TRUE(client.is_open());
  }
  ~PipePair() {
    if (server.is_open()) server.close();
    if (client.is_open()) client.close();
  }
  std::wstring name;
  Socket server;
  Socket client;
};

// ConnectNamedPipe (OperationType::accept_pipe) submitted straight to the backend.
class ConnectProbe final : public Operation {
 public:
  ConnectProbe(const Socket& instance, bool& abandoned)
      : Operation(OperationType::accept_pipe, instance.get()), abandoned_(abandoned) {}
  void complete(std::unique_ptr<Operation>) override {}
  void abandon() noexcept override { abandoned_ = true; }

 private:
  bool& abandoned_;
};

// The errno value a future failed with, 0 if it did not fail.
template <class T>
int error_of(Future<T>& future) {
  try {
    future.take_result();
  } catch (const std::system_error& error) {
    return error.code().value();
  }
  return 0;
}

using IocpPipeTest = IocpLoopTest;

TEST_F(IocpPipeTest, Rule2PipeReadDoneAtOnceStaysInFlightUntilItsCompletionPacket) {
  PipePair pipe;
  Future<void> sent = restrack::sock_sendall(loop, pipe.client, "ping");
  run_until([&] { return sent.done(); });
  sent.take_result();
  const std::size_t done_at_once = backend.done_at_once_for_test();
  Future<std::string> received = restrack::sock_recv(loop, pipe.server, 16);
  // ReadFile found the data and succeeded at once: no FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
  // so its packet still comes and the backend keeps the operation until then.
  EXPECT_EQ(backend.done_at_once_for_test(), done_at_once + 1);
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  EXPECT_FALSE(received.done());  // rule 3
  run_one_iteration();            // dequeues the packet
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  run_until([&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "ping");
}

TEST_F(IocpPipeTest, APipeHandleIsBoundToThePortOnceForAllItsOperations) {
  PipePair pipe;
  for (const std::string_view message : {"one", "two"}) {
    Future<void> sent = restrack::sock_sendall(loop, pipe.client, message);
    Future<std::string> received = restrack::sock_recv(loop, pipe.server, 16);
    run_until([&] { return sent.done() && received.done(); });
    sent.take_result();
    EXPECT_EQ(received.take_result(), message);
  }
  // A moved owner carries the note: no CreateIoCompletionPort for the server end again.
  Socket moved(std::move(pipe.server));
  Future<void> sent = restrack::sock_sendall(loop, pipe.client, "three");
  Future<std::string> received = restrack::sock_recv(loop, moved, 16);
  run_until([&] { return sent.done() && received.done(); });
  sent.take_result();
  EXPECT_EQ(received.take_result(), "three");
  EXPECT_EQ(backend.associations_for_test(), 2u);  // the client end and the server end
  moved.close();
}

TEST_F(IocpPipeTest, APipeHandleClosedAndReplacedIsBoundAnewEvenWhenItsValueIsReused) {
  PipePair pipe;
  Future<void> sent = restrack::sock_sendall(loop, pipe.client, "old");
  Future<std::string> received = restrack::sock_recv(loop, pipe.server, 16);
  run_until([&] { return sent.done() && received.done(); });
  sent.take_result();
  EXPECT_EQ(received.take_result(), "old");
  const restrack::NativeSocket old_values[] = {pipe.server.get(), pipe.client.get()};
  ASSERT_EQ(pipe.server.close(), 0);
  ASSERT_EQ(pipe.client.close(), 0);
  // The same owners, new handles: Windows (and Wine) usually hand out the values just freed.
  pipe.server = create_instance(pipe.name);
  pipe.client = open_client(pipe.name);
  ASSERT_TRUE(pipe.server.is_open() && pipe.client.is_open());
  const bool reused = pipe.server.get() == old_values[0] || pipe.server.get() == old_values[1] ||
                      pipe.client.get() == old_values[0] || pipe.client.get() == old_values[1];
  RecordProperty("handle_value_reused", reused ? "yes" : "no");
  std::cout << "[          ] the closed handles' values " << (reused ? "were" : "were not")
            << " reused\n";
  // A binding remembered by value would skip the new handles, whose packets would then
  // never come: these requests would wait forever.
  Future<void> resent = restrack::sock_sendall(loop, pipe.client, "new");
  Future<std::string> new_received = restrack::sock_recv(loop, pipe.server, 16);
  run_until([&] { return resent.done() && new_received.done(); });
  resent.take_result();
  EXPECT_EQ(new_received.take_result(), "new");
  EXPECT_EQ(backend.associations_for_test(), 4u);
}

TEST_F(IocpPipeTest, APipeServersInstanceStaysBoundWhenItBecomesTheConnection) {
  const std::string name = "\\\\.\\pipe\\restrack_bound_" + std::to_string(::GetCurrentProcessId());
  auto served = std::make_shared<RecordingProtocol>();
  restrack::Server server = restrack::create_pipe_server(
      loop, [served] { return served; }, name);
  auto client = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::connect_pipe(
      loop, [client] { return client; }, name));
  transport->write("hello");
  run_until([&] { return served->events.size() == 2; });
  EXPECT_EQ(served->events, (std::vector<std::string>{"made", "data hello"}));
  // The first instance (bound by its ConnectNamedPipe; its reads then need no binding), the
  // next instance, and the client's end.
  EXPECT_EQ(backend.associations_for_test(), 3u);
  transport->close();
  run_until([&] { return client->events.size() == 2 && served->events.size() == 4; });
  EXPECT_EQ(served->events, (std::vector<std::string>{"made", "data hello", "eof", "lost"}));
  server.close();
}

TEST_F(IocpPipeTest, Rule2ReadOfAPipeWhoseWriterIsGoneIsEndOfFileAtOnceWithoutAPacket) {
  PipePair pipe;
  ASSERT_EQ(pipe.client.close(), 0);
  Future<std::string> received = restrack::sock_recv(loop, pipe.server, 16);
  // ReadFile failed at once with ERROR_BROKEN_PIPE: no packet will come, and the read is
  // at its end, not failed.
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_FALSE(received.done());  // rule 3: delivered through the ready queue
  run_until([&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "");
}

TEST_F(IocpPipeTest, Rule2PendingPipeReadEndsAtEndOfFileWhenTheWriterCloses) {
  PipePair pipe;
  Future<std::string> received = restrack::sock_recv(loop, pipe.server, 16);
  run_one_iteration();
  ASSERT_EQ(loop.operations_in_flight(), 1u);
  ASSERT_EQ(pipe.client.close(), 0);  // the pending ReadFile ends with ERROR_BROKEN_PIPE
  run_until([&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "");
  EXPECT_EQ(loop.operations_in_flight(), 0u);
}

TEST_F(IocpPipeTest, WriteToAPipeWhoseReaderIsGoneFailsWithEpipe) {
  PipePair pipe;
  ASSERT_EQ(pipe.server.close(), 0);
  Future<void> sent = restrack::sock_sendall(loop, pipe.client, "lost");
  run_until([&] { return sent.done(); });
  EXPECT_EQ(error_of(sent), EPIPE);
}

TEST_F(IocpPipeTest, Rule2ConnectNamedPipeWithItsClientAlreadyThereSucceedsAtOnceWithoutAPacket) {
  PipePair pipe;  // the client connected before the server's ConnectNamedPipe
  bool abandoned = false;
  restrack::internal::Submission submission =
      backend.submit(std::make_unique<ConnectProbe>(pipe.server, abandoned));
  // ERROR_PIPE_CONNECTED: connected, and no packet comes (rule 2's "already connected").
  ASSERT_NE(submission.failed, nullptr);
  EXPECT_EQ(submission.failed->result, 0);
  EXPECT_EQ(submission.key, restrack::internal::kNoOperation);
  EXPECT_EQ(backend.in_flight(), 0u);
  std::vector<std::unique_ptr<Operation>> reaped;
  backend.poll(std::chrono::milliseconds(100), reaped);
  EXPECT_TRUE(reaped.empty());
}

TEST_F(IocpPipeTest, PendingConnectNamedPipeCompletesThroughThePortWhenAClientConnects) {
  const std::wstring name = unique_pipe_name();
  Socket instance = create_instance(name);
  ASSERT_TRUE(instance.is_open());
  bool abandoned = false;
  restrack::internal::Submission submission =
      backend.submit(std::make_unique<ConnectProbe>(instance, abandoned));
  ASSERT_EQ(submission.failed, nullptr);
  EXPECT_EQ(backend.in_flight(), 1u);
  std::vector<std::unique_ptr<Operation>> reaped;
  backend.poll(std::chrono::milliseconds(50), reaped);
  EXPECT_TRUE(reaped.empty());  // no client yet
  Socket client = open_client(name);
  ASSERT_TRUE(client.is_open());
  backend.poll(std::chrono::seconds(5), reaped);
  ASSERT_EQ(reaped.size(), 1u);
  EXPECT_EQ(reaped[0]->type, OperationType::accept_pipe);
  EXPECT_EQ(reaped[0]->result, 0);
  EXPECT_EQ(backend.in_flight(), 0u);
  client.close();
  instance.close();
}

TEST_F(IocpPipeTest, Rule4CancelledPipeReadIsAbortedByCancelIoExAndLosesNoData) {
  PipePair pipe;
  Future<std::string> first = restrack::sock_recv(loop, pipe.server, 16);
  run_one_iteration();  // nothing to read: it stays pending
  ASSERT_EQ(loop.operations_in_flight(), 1u);
  first.cancel();
  EXPECT_TRUE(first.cancelled());              // at once (rule 4)
  EXPECT_EQ(loop.operations_in_flight(), 1u);  // still the kernel's (rule 1)
  run_until([&] { return loop.operations_in_flight() == 0; });
  EXPECT_EQ(restrack::operations_freed_in_flight(), 0u);
  Future<void> sent = restrack::sock_sendall(loop, pipe.client, "late");
  Future<std::string> second = restrack::sock_recv(loop, pipe.server, 16);
  run_until([&] { return second.done() && sent.done(); });
  EXPECT_EQ(second.take_result(), "late");
}

TEST_F(IocpPipeTest, Rules10And13CloseCancelsAPendingConnectNamedPipeAndAPipeReadAndDrainsThem) {
  const std::wstring name = unique_pipe_name();
  Socket waiting = create_instance(name);
  bool abandoned = false;
  ASSERT_EQ(backend.submit(std::make_unique<ConnectProbe>(waiting, abandoned)).failed, nullptr);
  PipePair pipe;
  Future<std::string> received = restrack::sock_recv(loop, pipe.server, 16);
  run_one_iteration();
  ASSERT_EQ(loop.operations_in_flight(), 2u);
  loop.close();
  EXPECT_EQ(backend.in_flight(), 0u);
  EXPECT_TRUE(abandoned);
  EXPECT_TRUE(received.cancelled());
  EXPECT_EQ(restrack::operations_freed_in_flight(), 0u);
  waiting.close();
}

TEST_F(IocpPipeTest, SendAllThroughAPipeSmallerThanTheDataDeliversEveryByteInOrder) {
  PipePair pipe;  // 4 KiB pipe buffers: the write pends until the reader catches up
  std::string data(std::size_t{1} << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  Future<void> sent = restrack::sock_sendall(loop, pipe.client, data);
  std::string received;
  while (received.size() < data.size()) {
    Future<std::string> part = restrack::sock_recv(loop, pipe.server, 65536);
    run_until([&] { return part.done(); });
    const std::string bytes = part.take_result();
    ASSERT_FALSE(bytes.empty());
    received += bytes;
  }
  run_until([&] { return sent.done(); });
  sent.take_result();
  EXPECT_EQ(received, data);
}

TEST_F(IocpPipeTest, Rule17ConnectPipeRetriesAPipeWhoseInstancesAreAllTakenUntilOneIsFree) {
  const std::string name = "\\\\.\\pipe\\restrack_busy_" + std::to_string(::GetCurrentProcessId());
  const std::wstring wide_name(name.begin(), name.end());
  // A server of one instance, taken by a client: CreateFile answers ERROR_PIPE_BUSY.
  HANDLE instance = ::CreateNamedPipeW(wide_name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                       PIPE_TYPE_BYTE | PIPE_WAIT, 1, 4096, 4096, 0, nullptr);
  ASSERT_NE(instance, INVALID_HANDLE_VALUE);
  Socket filler = open_client(wide_name);
  ASSERT_TRUE(filler.is_open());
  OVERLAPPED listening{};
  listening.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  std::vector<long long> delays;
  restrack::internal::set_pipe_retry_observer(
      [&](std::chrono::milliseconds delay, const Future<void>&) {
        delays.push_back(delay.count());
        if (delays.size() != 3) return;
        // After the third busy answer the instance is freed and waits for a new client.
        filler.close();
        EXPECT_TRUE(::DisconnectNamedPipe(instance));
        EXPECT_FALSE(::ConnectNamedPipe(instance, &listening));
        EXPECT_EQ(::GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
      });
  auto client = std::make_shared<RecordingProtocol>();
  auto transport = loop.run_until_complete(restrack::connect_pipe(
      loop, [client] { return client; }, name));
  restrack::internal::set_pipe_retry_observer(nullptr);
  EXPECT_EQ(delays, (std::vector<long long>{1, 2, 4}));
  EXPECT_EQ(client->events, (std::vector<std::string>{"made"}));
  EXPECT_EQ(::WaitForSingleObject(listening.hEvent, 5000), WAIT_OBJECT_0);  // it connected
  transport->close();
  run_until([&] { return client->events.size() == 2; });
  ::CloseHandle(instance);
  ::CloseHandle(listening.hEvent);
}

TEST_F(IocpPipeTest, Rule14TheNextInstanceExistsBeforeTheConnectedOneReachesTheFactory) {
  // Rule 14 on Windows: a pipe server creates its next instance before it hands the one a
  // client connected to over, so a client that comes meanwhile finds a free instance at
  // once. The protocol factory, which runs as the connection is handed over, is that client.
  const std::string name =
      "\\\\.\\pipe\\restrack_next_first_" + std::to_string(::GetCurrentProcessId());
  const std::wstring wide_name(name.begin(), name.end());
  constexpr DWORD kNotTried = ~DWORD{0};
  DWORD error_in_factory = kNotTried;
  restrack::Server server = restrack::create_pipe_server(
      loop,
      [&] {
        if (error_in_factory == kNotTried) {
          HANDLE client = ::CreateFileW(wide_name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                        OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
          error_in_factory = client == INVALID_HANDLE_VALUE ? ::GetLastError() : ERROR_SUCCESS;
          if (client != INVALID_HANDLE_VALUE) ::CloseHandle(client);
        }
        return std::make_shared<Echo>();
      },
      name);
  auto transport = loop.run_until_complete(restrack::connect_pipe(
      loop, [] { return std::make_shared<Echo>(); }, name));
  run_until([&] { return error_in_factory != kNotTried; });
  EXPECT_EQ(error_in_factory, static_cast<DWORD>(ERROR_SUCCESS));  // not ERROR_PIPE_BUSY
  transport->close();
  // The factory's client left at once; both connections end.
  run_until([&] { return server.connection_count() == 0; });
  server.close();
}

}  // namespace
}  // namespace restrack_test
