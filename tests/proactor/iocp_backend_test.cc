// The IOCP backend on a real completion port (Windows; under Wine in CI): rule 2 exactly
// (done at once keeps its packet, failed at once gets none), rules 1 and 4 with CancelIoEx,
// rules 10 and 13 (close cancels and drains), rule 11 with AcceptEx's pre-created socket,
// rule 7 (process and handle waits through a registered wait posting to the port),
// rule 18 (overlapped sockets), the coalesced wake-up, and the socket awaitables over
// loopback TCP (IPv4, IPv6) and UDP. The scripted-backend rule tests run on Windows too.
#include <cerrno>
#include <chrono>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "iocp_backend.h"
#include "iocp_loop_fixture.h"
#include "loop_fixture.h"
#include "operation.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/task.h"
#include "result_error.h"
#include "socket_calls.h"
#include "test_platform.h"
#include "winsock_runtime.h"

namespace restrack_test {
namespace {

using restrack::EventLoop;
using restrack::Future;
using restrack::Socket;
using restrack::SocketAddress;
using restrack::Task;
using restrack::internal::IocpBackend;
using restrack::internal::Operation;
using restrack::internal::OperationType;

constexpr std::size_t kReadSize = std::size_t{64} << 10;

using IocpTest = IocpLoopTest;

// Two UDP sockets, each bound to a loopback port of its own; closed at the end unless a
// test closed them first.
struct UdpSockets {
  UdpSockets() {
    const SocketAddress any_port = SocketAddress::ipv4("127.0.0.1", 0);
    EXPECT_EQ(::bind(first.get(), any_port.get(), any_port.length()), 0);
    EXPECT_EQ(::bind(second.get(), any_port.get(), any_port.length()), 0);
  }
  ~UdpSockets() {
    if (first.is_open()) first.close();
    if (second.is_open()) second.close();
  }
  UdpSockets(const UdpSockets&) = delete;
  UdpSockets& operator=(const UdpSockets&) = delete;
  Socket first = restrack::open_socket(AF_INET, SOCK_DGRAM);
  Socket second = restrack::open_socket(AF_INET, SOCK_DGRAM);
};

TEST_F(IocpTest, Rule2ReceiveDoneAtOnceStaysInFlightUntilItsCompletionPacket) {
  SocketPair sockets;
  ASSERT_EQ(::send(sockets.second.get(), "ping", 4, 0), 4);
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  // WSARecv found the data and succeeded at once: no FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
  // so its packet still comes and the backend keeps the operation until then.
  EXPECT_EQ(backend.done_at_once_for_test(), 1u);
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  EXPECT_FALSE(received.done());  // rule 3
  run_one_iteration();            // dequeues the packet
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  run_until([&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "ping");
}

TEST_F(IocpTest, Rule2DatagramLongerThanTheBufferIsTruncatedAndKeptUntilItsPacket) {
  // WSARecvFrom answers WSAEMSGSIZE at once for a datagram longer than the buffer, yet the
  // request is done (the buffer filled) and its packet still comes: a warning, not an
  // error. Handed back at once, the operation would be freed before its packet named it.
  UdpSockets sockets;
  const Socket& receiver = sockets.first;
  const Socket& sender = sockets.second;
  const SocketAddress to = restrack::local_address(receiver);
  const std::string datagram = "0123456789abcdef";
  ASSERT_EQ(::sendto(sender.get(), datagram.data(), 16, 0, to.get(), to.length()), 16);
  ::Sleep(50);  // queued at the receiver before the request
  Future<restrack::Datagram> received = restrack::sock_recvfrom(loop, receiver, 8);
  EXPECT_EQ(backend.done_at_once_for_test(), 1u);
  EXPECT_EQ(loop.operations_in_flight(), 1u);
  run_one_iteration();  // dequeues the packet
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  run_until([&] { return received.done(); });
  const restrack::Datagram got = received.take_result();
  EXPECT_EQ(got.data, "01234567");  // truncated, as recvmsg does on Linux
  EXPECT_EQ(got.sender.to_string(), restrack::local_address(sender).to_string());
}

TEST_F(IocpTest, Rule2ReceiveFailingAtOnceIsNotRegisteredAndItsErrorIsDeliveredLater) {
  Socket unconnected = restrack::open_socket(AF_INET, SOCK_STREAM);
  Future<std::string> received = restrack::sock_recv(loop, unconnected, 16);
  EXPECT_EQ(loop.operations_in_flight(), 0u);  // no packet will come
  EXPECT_FALSE(received.done());               // rule 3: delivered through the ready queue
  run_until([&] { return received.done(); });
  try {
    received.take_result();
    FAIL() << "expected ENOTCONN";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ENOTCONN);
    EXPECT_EQ(error.code(), std::errc::not_connected);
    EXPECT_TRUE(std::string_view(error.what()).ends_with(": Transport endpoint is not connected"))
        << error.what();
  }
  unconnected.close();
}

TEST_F(IocpTest, ASocketIsBoundToThePortOnceForAllItsOperations) {
  SocketPair sockets;
  for (int i = 0; i < 3; ++i) {
    Future<void> sent = restrack::sock_sendall(loop, sockets.first, "ping");
    run_until([&] { return sent.done(); });
    sent.take_result();
  }
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  run_one_iteration();  // pending: nothing to receive yet
  ASSERT_EQ(::send(sockets.second.get(), "pong", 4, 0), 4);
  run_until([&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "pong");
  // Four operations, one CreateIoCompletionPort; the socket carries the binding.
  EXPECT_EQ(backend.associations_for_test(), 1u);
  EXPECT_NE(sockets.first.completion_port(), nullptr);
  EXPECT_EQ(sockets.second.completion_port(), nullptr);  // never used through the loop
}

TEST_F(IocpTest, AMovedSocketKeepsItsBindingToThePort) {
  SocketPair sockets;
  Future<void> first = restrack::sock_sendall(loop, sockets.first, "a");
  run_until([&] { return first.done(); });
  Socket moved(std::move(sockets.first));
  Future<void> second = restrack::sock_sendall(loop, moved, "b");
  run_until([&] { return second.done(); });
  Socket assigned;
  assigned = std::move(moved);
  Future<void> third = restrack::sock_sendall(loop, assigned, "c");
  run_until([&] { return third.done(); });
  first.take_result();
  second.take_result();
  third.take_result();
  // No second CreateIoCompletionPort: the move constructor and assignment carry the note.
  EXPECT_EQ(backend.associations_for_test(), 1u);
  char bytes[3] = {};
  ASSERT_EQ(::recv(sockets.second.get(), bytes, 3, MSG_WAITALL), 3);
  EXPECT_EQ(std::string_view(bytes, 3), "abc");
  assigned.close();
}

TEST_F(IocpTest, ASocketClosedAndReplacedIsBoundAnewEvenWhenItsValueIsReused) {
  SocketPair sockets;
  Future<void> sent = restrack::sock_sendall(loop, sockets.first, "old");
  run_until([&] { return sent.done(); });
  sent.take_result();
  const restrack::NativeSocket old_value = sockets.first.get();
  ASSERT_EQ(sockets.first.close(), 0);
  EXPECT_EQ(sockets.first.completion_port(), nullptr);  // the note went with the handle
  ASSERT_EQ(sockets.second.close(), 0);
  // The same owners, new sockets: Windows (and Wine) usually hand out the value just freed.
  make_socket_pair(SOCK_STREAM, sockets.first, sockets.second);
  const bool reused = sockets.first.get() == old_value || sockets.second.get() == old_value;
  RecordProperty("socket_value_reused", reused ? "yes" : "no");
  std::cout << "[          ] the closed socket's value " << (reused ? "was" : "was not")
            << " reused\n";
  // A binding remembered by value would skip the new socket, whose packets would then
  // never come: this receive would wait forever.
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  ASSERT_EQ(::send(sockets.second.get(), "new", 3, 0), 3);
  run_until([&] { return received.done(); });
  EXPECT_EQ(received.take_result(), "new");
  EXPECT_EQ(backend.associations_for_test(), 2u);
}

TEST_F(IocpTest, ASocketBoundToAnotherLoopsPortFailsAtOnceInsteadOfWaitingForever) {
  SocketPair sockets;
  {
    EventLoop other;
    Future<void> sent = restrack::sock_sendall(other, sockets.first, "x");
    while (!sent.done()) {
      other.stop();
      other.run_forever();
    }
    sent.take_result();
    other.close();
  }
  // Windows never unbinds a handle: a request here would complete on the other port.
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  EXPECT_EQ(loop.operations_in_flight(), 0u);  // refused, no packet to wait for
  run_until([&] { return received.done(); });
  EXPECT_EQ(backend.associations_for_test(), 0u);
  try {
    received.take_result();
    FAIL() << "expected ERROR_INVALID_PARAMETER";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code(), std::error_code(ERROR_INVALID_PARAMETER, std::system_category()))
        << error.what();
  }
}

TEST_F(IocpTest, APollDequeuesThePacketsKnownToBeQueuedWithoutAskingForMore) {
  SocketPair sockets;
  std::vector<Future<void>> sends;
  sends.reserve(3);
  for (int i = 0; i < 3; ++i) sends.push_back(restrack::sock_sendall(loop, sockets.first, "p"));
  // Done at once (rule 2: each still queues its packet), so three packets are known to be
  // queued; the poll asks for exactly those, never for a fourth that is not there (under
  // Wine such an ask costs a server request that finds nothing).
  ASSERT_EQ(backend.done_at_once_for_test(), 3u);
  run_one_iteration();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_EQ(backend.short_dequeues_for_test(), 0u);
  run_until([&] { return sends.back().done(); });
}

TEST_F(IocpTest, Rule4CancelledReceiveIsAbortedByCancelIoExAndLosesNoData) {
  SocketPair sockets;
  Future<std::string> first = restrack::sock_recv(loop, sockets.first, 16);
  run_one_iteration();  // nothing to receive: it stays pending
  ASSERT_EQ(loop.operations_in_flight(), 1u);
  first.cancel();
  EXPECT_TRUE(first.cancelled());              // at once (rule 4)
  EXPECT_EQ(loop.operations_in_flight(), 1u);  // still the kernel's (rule 1)
  run_until([&] { return loop.operations_in_flight() == 0; });
  EXPECT_EQ(restrack::operations_freed_in_flight(), 0u);
  ASSERT_EQ(::send(sockets.second.get(), "late", 4, 0), 4);
  Future<std::string> second = restrack::sock_recv(loop, sockets.first, 16);
  run_until([&] { return second.done(); });
  EXPECT_EQ(second.take_result(), "late");
}

TEST_F(IocpTest, ClosingASocketAbortsItsPendingReceiveWhichStillCompletesThroughThePort) {
  SocketPair sockets;
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  run_one_iteration();
  ASSERT_EQ(loop.operations_in_flight(), 1u);
  // Unlike io_uring (rule 8), closesocket aborts the socket's requests (Windows:
  // WSA_OPERATION_ABORTED; Wine: STATUS_HANDLES_CLOSED, docs/windows.md); the packet still
  // comes, and its status is read from the packet, not from the closed socket.
  ASSERT_EQ(sockets.first.close(), 0);
  run_until([&] { return received.done(); });
  EXPECT_TRUE(received.cancelled());
  EXPECT_EQ(loop.operations_in_flight(), 0u);
}

TEST_F(IocpTest, Rule4CancellingTwiceOrAfterCompletionIsHarmless) {
  SocketPair sockets;
  Future<std::string> received = restrack::sock_recv(loop, sockets.first, 16);
  received.cancel();
  received.cancel();
  run_until([&] { return loop.operations_in_flight() == 0; });
  EXPECT_TRUE(received.cancelled());
  EXPECT_FALSE(received.cancel());
}

TEST_F(IocpTest, Rules10And13CloseCancelsEveryPendingReceiveAndDrainsThem) {
  std::vector<std::unique_ptr<SocketPair>> pairs;
  std::vector<Future<std::string>> receives;
  for (int i = 0; i < 20; ++i) {
    pairs.push_back(std::make_unique<SocketPair>());
    receives.push_back(restrack::sock_recv(loop, pairs.back()->first, 16));
  }
  run_one_iteration();
  ASSERT_EQ(loop.operations_in_flight(), 20u);
  loop.close();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  EXPECT_EQ(restrack::operations_freed_in_flight(), 0u);
  for (const Future<std::string>& received : receives) EXPECT_TRUE(received.cancelled());
  // The peers write after the buffers are gone: nothing may land in them.
  for (const auto& pair : pairs) EXPECT_EQ(::send(pair->second.get(), "x", 1, 0), 1);
}

TEST_F(IocpTest, Rule10SubmittingAfterCloseThrowsAClearError) {
  SocketPair sockets;
  loop.close();
  EXPECT_THROW(
      backend.submit(std::make_unique<CountingOperation>(sockets.first.get(), nullptr, nullptr)),
      restrack::LoopClosedError);
}

// An accept submitted straight to the backend; what close leaves it is recorded outside,
// since the backend frees it after abandon().
struct AcceptRecord {
  bool abandoned = false;
  restrack::NativeSocket accept_socket_at_abandon = 0;
  int result_at_abandon = 0;
};

class AcceptProbe final : public Operation {
 public:
  AcceptProbe(restrack::NativeSocket listener, AcceptRecord& record)
      : Operation(OperationType::accept, listener), record_(record) {}
  void complete(std::unique_ptr<Operation>) override { ADD_FAILURE() << "delivered"; }
  void abandon() noexcept override {
    record_.abandoned = true;
    record_.accept_socket_at_abandon = platform.accept_socket;
    record_.result_at_abandon = result;
  }

 private:
  AcceptRecord& record_;
};

TEST(IocpAcceptTest, Rule11AcceptExSocketIsClosedInsideTheBackendWhenItCloses) {
  Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  IocpBackend backend{restrack::IocpOptions{}};
  AcceptRecord record;
  auto probe = std::make_unique<AcceptProbe>(listener.get(), record);
  const Operation& submitted = *probe;
  ASSERT_EQ(backend.submit(std::move(probe)).failed, nullptr);
  const restrack::NativeSocket pre_created = submitted.platform.accept_socket;
  ASSERT_NE(pre_created, restrack::kInvalidSocket);
  EXPECT_FALSE(is_closed(pre_created));
  EXPECT_EQ(backend.in_flight(), 1u);
  // close() cancels the AcceptEx and reaps its aborted packet: the pre-created socket is
  // closed right there, before abandon(), since no ready queue is left to do it later.
  backend.close();
  EXPECT_EQ(backend.in_flight(), 0u);
  EXPECT_TRUE(record.abandoned);
  EXPECT_EQ(record.result_at_abandon, -ECANCELED);
  EXPECT_EQ(record.accept_socket_at_abandon, restrack::kInvalidSocket);
  EXPECT_TRUE(is_closed(pre_created));
  listener.close();
}

// A wait on a handle (OperationType::wait_process) submitted straight to the backend.
class WaitProbe final : public Operation {
 public:
  WaitProbe(HANDLE waited, bool& abandoned)
      : Operation(OperationType::wait_process, reinterpret_cast<restrack::NativeSocket>(waited)),
        abandoned_(abandoned) {}
  void complete(std::unique_ptr<Operation>) override {}
  void abandon() noexcept override { abandoned_ = true; }

 private:
  bool& abandoned_;
};

class IocpWaitTest : public testing::Test {
 protected:
  ~IocpWaitTest() override { ::CloseHandle(event); }

  restrack::internal::OperationKey submit_wait(HANDLE handle) {
    restrack::internal::Submission submission =
        backend.submit(std::make_unique<WaitProbe>(handle, abandoned));
    EXPECT_EQ(submission.failed, nullptr);
    return submission.key;
  }
  std::vector<std::unique_ptr<Operation>> poll(std::chrono::milliseconds timeout) {
    std::vector<std::unique_ptr<Operation>> reaped;
    backend.poll(timeout, reaped);
    return reaped;
  }

  IocpBackend backend{restrack::IocpOptions{}};
  HANDLE event = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  bool abandoned = false;
};

TEST_F(IocpWaitTest, Rule7RegisteredWaitPostsOnePacketOnceTheHandleIsSignalled) {
  submit_wait(event);
  EXPECT_EQ(backend.in_flight(), 1u);
  EXPECT_TRUE(poll(std::chrono::milliseconds(0)).empty());
  ::SetEvent(event);
  const std::vector<std::unique_ptr<Operation>> reaped = poll(std::chrono::seconds(5));
  ASSERT_EQ(reaped.size(), 1u);
  EXPECT_EQ(reaped[0]->result, 1);
  EXPECT_EQ(backend.in_flight(), 0u);
  EXPECT_TRUE(poll(std::chrono::milliseconds(50)).empty());  // exactly one packet
}

TEST_F(IocpWaitTest, Rule7CancelUnregistersTheWaitAndTheKeyLivesUntilItsPacket) {
  const restrack::internal::OperationKey key = submit_wait(event);
  backend.cancel(key);
  EXPECT_EQ(backend.in_flight(), 1u);  // not freed by the cancel: its packet is queued
  const std::vector<std::unique_ptr<Operation>> reaped = poll(std::chrono::seconds(5));
  ASSERT_EQ(reaped.size(), 1u);
  EXPECT_EQ(reaped[0]->result, -ECANCELED);
  EXPECT_EQ(backend.in_flight(), 0u);
  ::SetEvent(event);  // unregistered: the callback never runs, no second packet
  EXPECT_TRUE(poll(std::chrono::milliseconds(100)).empty());
}

TEST_F(IocpWaitTest, Rule7CancelAfterTheCallbackPostedLeavesItsOwnPacketAlone) {
  const restrack::internal::OperationKey key = submit_wait(event);
  ::SetEvent(event);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the callback has posted
  backend.cancel(key);
  const std::vector<std::unique_ptr<Operation>> reaped = poll(std::chrono::seconds(5));
  ASSERT_EQ(reaped.size(), 1u);
  EXPECT_EQ(reaped[0]->result, 1);  // the late success, for the loop to swallow (rule 4)
  EXPECT_TRUE(poll(std::chrono::milliseconds(100)).empty());
}

TEST_F(IocpWaitTest, Rule7CloseCancelsAPendingWaitAndDrainsItsPacket) {
  submit_wait(event);
  backend.close();
  EXPECT_TRUE(abandoned);
  EXPECT_EQ(backend.in_flight(), 0u);
}

TEST_F(IocpWaitTest, Rule7ProcessExitCompletesTheWait) {
  wchar_t program[MAX_PATH] = {};
  ASSERT_GT(::GetModuleFileNameW(nullptr, program, MAX_PATH), 0u);
  // This test program again, running no test: it exits with 0.
  std::wstring command = L"\"" + std::wstring(program) + L"\" --gtest_filter=NoSuchTest.None";
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION process{};
  ASSERT_NE(::CreateProcessW(program, command.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr,
                             &startup, &process),
            0);
  ::CloseHandle(process.hThread);
  submit_wait(process.hProcess);
  const std::vector<std::unique_ptr<Operation>> reaped = poll(std::chrono::seconds(60));
  ASSERT_EQ(reaped.size(), 1u);
  EXPECT_EQ(reaped[0]->result, 1);
  DWORD exit_code = 1;
  EXPECT_NE(::GetExitCodeProcess(process.hProcess, &exit_code), 0);
  EXPECT_EQ(exit_code, 0u);
  ::CloseHandle(process.hProcess);
}

TEST_F(IocpTest, WakeUpPostsOnePacketForAnyNumberOfWakesUntilTheLoopDequeuesIt) {
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) backend.wake();
  });
  poster.join();
  EXPECT_EQ(backend.wake_packets_posted_for_test(), 1u);
  run_one_iteration();  // returns at once: the packet is there
  backend.wake();
  EXPECT_EQ(backend.wake_packets_posted_for_test(), 2u);
  run_one_iteration();
}

TEST_F(IocpTest, CallSoonThreadsafeWakesALoopWaitingOnThePort) {
  bool ran = false;
  std::thread poster([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    loop.call_soon_threadsafe([&] {
      ran = true;
      loop.stop();
    });
  });
  loop.run_forever();  // no timer, nothing in flight: waits on the port without limit
  poster.join();
  EXPECT_TRUE(ran);
}

TEST_F(IocpTest, Rule18SocketsAreOpenedForOverlappedIo) {
  Socket socket = restrack::open_socket(AF_INET, SOCK_STREAM);
  EXPECT_TRUE(is_nonblocking(socket.get()));
  socket.close();
}

// Accepts one connection and echoes what it receives until end-of-file.
Task<std::size_t> echo_one_connection(EventLoop& loop, const Socket& listener) {
  Socket connection = co_await restrack::sock_accept(loop, listener);
  std::size_t echoed = 0;
  while (true) {
    std::string data = co_await restrack::sock_recv(loop, connection, kReadSize);
    if (data.empty()) break;
    echoed += data.size();
    co_await restrack::sock_sendall(loop, connection, data);
  }
  connection.close();
  co_return echoed;
}

Task<void> send_then_shut_down(EventLoop& loop, const Socket& socket, std::string message) {
  co_await restrack::sock_sendall(loop, socket, message);
  restrack::internal::shutdown_socket(socket.get(), restrack::internal::ShutdownHow::write);
}

Task<std::string> echo_through(EventLoop& loop, const Socket& listener, std::string message) {
  Task<std::size_t> server = loop.create_task(echo_one_connection(loop, listener));
  const SocketAddress address = restrack::local_address(listener);
  Socket client = restrack::open_socket(address.family(), SOCK_STREAM);
  co_await restrack::sock_connect(loop, client, address);
  Task<void> sending = loop.create_task(send_then_shut_down(loop, client, message));
  std::string echoed;
  while (true) {
    std::string data = co_await restrack::sock_recv(loop, client, kReadSize);
    if (data.empty()) break;
    echoed += data;
  }
  co_await sending;
  client.close();
  EXPECT_EQ(co_await server, echoed.size());
  co_return echoed;
}

TEST_F(IocpTest, TcpOverIpv4EchoesAMessageThroughAcceptExAndConnectEx) {
  Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  EXPECT_EQ(loop.run_until_complete(echo_through(loop, listener, "hello over iocp")),
            "hello over iocp");
  listener.close();
}

TEST_F(IocpTest, TcpOverIpv6EchoesAMessage) {
  Socket listener;
  try {
    listener = restrack::listen_on(SocketAddress::ipv6("::1", 0));
  } catch (const std::system_error&) {
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  }
  EXPECT_EQ(loop.run_until_complete(echo_through(loop, listener, "v6")), "v6");
  listener.close();
}

TEST_F(IocpTest, SendAllDeliversEveryByteOfALargeBufferInOrder) {
  Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  std::string message(std::size_t{1} << 20, '\0');
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<char>(i * 7 + i / 251);
  EXPECT_EQ(loop.run_until_complete(echo_through(loop, listener, message)), message);
  listener.close();
}

Task<std::size_t> receive_into(EventLoop& loop, const Socket& socket, std::span<char> buffer) {
  co_return co_await restrack::sock_recv_into(loop, socket, buffer);
}

TEST_F(IocpTest, RecvIntoFillsTheCallersBufferAndAnEmptyReceiveIsEndOfFile) {
  SocketPair sockets;
  ASSERT_EQ(::send(sockets.second.get(), "abc", 3, 0), 3);
  char buffer[8] = {};
  EXPECT_EQ(loop.run_until_complete(receive_into(loop, sockets.first, buffer)), 3u);
  EXPECT_EQ(std::string(buffer, 3), "abc");
  restrack::internal::shutdown_socket(sockets.second.get(), restrack::internal::ShutdownHow::write);
  EXPECT_EQ(loop.run_until_complete(receive_into(loop, sockets.first, buffer)), 0u);
}

Task<void> connect_to(EventLoop& loop, SocketAddress address) {
  Socket client = restrack::open_socket(address.family(), SOCK_STREAM);
  try {
    co_await restrack::sock_connect(loop, client, address);
  } catch (...) {
    client.close();
    throw;
  }
  client.close();
}

TEST_F(IocpTest, ConnectExToAClosedPortThrowsConnectionRefused) {
  Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  const SocketAddress address = restrack::local_address(listener);
  listener.close();
  try {
    loop.run_until_complete(connect_to(loop, address));
    FAIL() << "expected ECONNREFUSED";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ECONNREFUSED);
    EXPECT_EQ(error.code(), std::errc::connection_refused);
    EXPECT_TRUE(std::string_view(error.what()).ends_with(": Connection refused")) << error.what();
  }
}

Task<restrack::Datagram> udp_exchange(EventLoop& loop, const Socket& receiver, const Socket& sender,
                                      SocketAddress to) {
  Future<restrack::Datagram> receiving = restrack::sock_recvfrom(loop, receiver, 1500);
  const std::size_t sent = co_await restrack::sock_sendto(loop, sender, "datagram", to);
  EXPECT_EQ(sent, 8u);
  co_return co_await receiving;
}

TEST_F(IocpTest, SendtoAndRecvfromCarryADatagramAndItsSender) {
  UdpSockets sockets;
  const Socket& receiver = sockets.first;
  const Socket& sender = sockets.second;
  const restrack::Datagram datagram = loop.run_until_complete(
      udp_exchange(loop, receiver, sender, restrack::local_address(receiver)));
  EXPECT_EQ(datagram.data, "datagram");
  EXPECT_EQ(datagram.sender.to_string(), restrack::local_address(sender).to_string());
}

TEST_F(IocpTest, DatagramToAClosedPortDoesNotFailTheSendersNextReceive) {
  UdpSockets sockets;
  const Socket& sender = sockets.first;
  const SocketAddress nobody = restrack::local_address(sockets.second);
  sockets.second.close();
  EXPECT_EQ(loop.run_until_complete(
                [](EventLoop& l, const Socket& s, SocketAddress to) -> Task<std::size_t> {
                  co_return co_await restrack::sock_sendto(l, s, "lost", to);
                }(loop, sender, nobody)),
            4u);
  // As on Linux: the port-unreachable answer is not reported to an unconnected socket.
  Future<restrack::Datagram> received = restrack::sock_recvfrom(loop, sender, 16);
  loop.run_until_complete(
      [](EventLoop& l) -> Task<void> { co_await l.sleep(std::chrono::milliseconds(200)); }(loop));
  EXPECT_FALSE(received.done());
  received.cancel();
  run_until([&] { return loop.operations_in_flight() == 0; });
}

TEST(IocpSocketTest, UnclosedSocketIsDescribedByProtocolAndAddresses) {
  Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  const std::string text = Socket::describe(listener.get());
  EXPECT_EQ(text, "tcp socket " + restrack::local_address(listener).to_string());
  listener.close();
}

// Windows errors become results as result_error.h says: the ones the portable layers test
// as their errno twins, the others offset by kWindowsErrorBase, read back with Windows'
// own category and text, never as an errno that happens to share the number.
TEST(IocpResultsTest, WindowsErrorsWithAnErrnoTwinBecomeItAndTheOthersKeepTheirWindowsCode) {
  using restrack::internal::error_result;
  using restrack::internal::result_error_code;
  EXPECT_EQ(error_result(WSAECONNRESET), -ECONNRESET);
  EXPECT_EQ(error_result(ERROR_NETNAME_DELETED), -ECONNRESET);
  EXPECT_EQ(error_result(ERROR_OPERATION_ABORTED), -ECANCELED);
  EXPECT_EQ(error_result(WSAENETRESET), -ENETRESET);
  EXPECT_EQ(error_result(WSAENETDOWN), -ENETDOWN);

  const std::error_code denied = result_error_code(error_result(ERROR_ACCESS_DENIED));
  EXPECT_EQ(denied.category(), std::system_category());
  EXPECT_EQ(denied.value(), static_cast<int>(ERROR_ACCESS_DENIED));
  EXPECT_EQ(denied.message(), std::system_category().message(ERROR_ACCESS_DENIED));
  EXPECT_NE(denied, std::errc::io_error);  // EIO is 5 as well

  const std::error_code reset = result_error_code(error_result(WSAECONNRESET));
  EXPECT_EQ(reset, std::errc::connection_reset);
  EXPECT_EQ(reset.message(), "Connection reset by peer");
}

TEST(IocpResultsTest, NetworkErrorsAreClassifiedAfterTheirMapping) {
  using restrack::internal::error_result;
  EXPECT_TRUE(restrack::internal::is_connection_reset(-error_result(WSAENETRESET)));
  EXPECT_TRUE(restrack::internal::is_connection_reset(-error_result(WSAESHUTDOWN)));
  EXPECT_TRUE(restrack::internal::is_per_connection_error(-error_result(WSAENETDOWN)));
  EXPECT_TRUE(restrack::internal::is_per_connection_error(-error_result(WSAEHOSTDOWN)));
  EXPECT_FALSE(restrack::internal::is_per_connection_error(-error_result(ERROR_ACCESS_DENIED)));
}

}  // namespace
}  // namespace restrack_test
