// Reliability on the IOCP backend, sized for Wine (about 1,000 round trips a second, so
// thousands of operations, not tens of thousands): a cancellation storm, close with many
// receives pending (rules 10, 13), stop/run cycles with a posting thread (rule 12), and a
// paused-and-resumed stream that must arrive byte-exact (rule 5). The io_uring versions,
// ten times larger, are in reliability_test.cc. No assertion depends on timing.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "capture.h"
#include "loop_fixture.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/task.h"

namespace restrack_test {
namespace {

using namespace std::chrono_literals;
using restrack::EventLoop;
using restrack::Future;
using restrack::Socket;
using restrack::Task;

class IocpReliabilityTest : public testing::Test {
 protected:
  ~IocpReliabilityTest() override {
    if (!loop.is_closed()) loop.close();
  }
  void run_one_iteration() {
    loop.stop();
    loop.run_forever();
  }
  EventLoop loop;
};

TEST_F(IocpReliabilityTest, CancelStormOfOneThousandReceivesThenPeersWrite) {
  LogRecorder log(spdlog::level::warn);
  std::vector<std::unique_ptr<SocketPair>> pairs;
  std::vector<Future<std::string>> received;
  for (int pair = 0; pair < 10; ++pair) {
    pairs.push_back(std::make_unique<SocketPair>());
    for (int i = 0; i < 100; ++i) {
      received.push_back(restrack::sock_recv(loop, pairs.back()->first, 64));
    }
  }
  run_one_iteration();
  ASSERT_EQ(loop.operations_in_flight(), 1'000u);
  for (Future<std::string>& future : received) EXPECT_TRUE(future.cancel());
  received.clear();  // only the backend holds them now (rule 1)
  for (auto& pair : pairs) ASSERT_EQ(::send(pair->second.get(), "storm", 5, 0), 5);
  while (loop.operations_in_flight() > 0) run_one_iteration();
  EXPECT_EQ(restrack::operations_freed_in_flight(), 0u);
  EXPECT_TRUE(log.lines().empty());
}

TEST_F(IocpReliabilityTest, CloseWithTwoHundredPendingReceivesCancelsAndDrainsThemAll) {
  LogRecorder log(spdlog::level::warn);
  std::vector<std::unique_ptr<SocketPair>> pairs;
  std::vector<Future<std::string>> received;
  for (int pair = 0; pair < 10; ++pair) {
    pairs.push_back(std::make_unique<SocketPair>());
    for (int i = 0; i < 20; ++i) {
      received.push_back(restrack::sock_recv(loop, pairs.back()->first, 64));
    }
  }
  run_one_iteration();
  ASSERT_EQ(loop.operations_in_flight(), 200u);
  loop.close();
  EXPECT_EQ(loop.operations_in_flight(), 0u);
  std::size_t cancelled = 0;
  for (Future<std::string>& future : received) cancelled += future.cancelled() ? 1 : 0;
  EXPECT_EQ(cancelled, 200u);
  received.clear();
  // Nothing the aborted receives could have taken: what the peers write now arrives.
  for (auto& pair : pairs) ASSERT_EQ(::send(pair->second.get(), "late", 4, 0), 4);
  char buffer[8];
  for (auto& pair : pairs) EXPECT_EQ(::recv(pair->first.get(), buffer, sizeof buffer, 0), 4);
  EXPECT_TRUE(log.lines().empty());
}

TEST_F(IocpReliabilityTest, Rule12StopRunCyclesWithAThreadPostingEveryTenMillisecondsLoseNothing) {
  LogRecorder log(spdlog::level::warn);
  std::atomic<bool> posting{true};
  std::atomic<std::uint64_t> posted{0};
  std::uint64_t ran = 0;
  std::thread poster([&] {
    const auto end = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < end) {
      loop.call_soon_threadsafe([&] { ++ran; });
      posted.fetch_add(1);
      std::this_thread::sleep_for(10ms);
    }
    posting = false;
  });
  std::uint64_t cycles = 0;
  while (posting) {
    // Each cycle waits on the port until a wake-up packet or the short timer, so stop/run
    // alternates with wake-up packets both queued and already dequeued.
    loop.call_later(1ms, [&] { loop.stop(); });
    loop.run_forever();
    ++cycles;
  }
  poster.join();
  run_one_iteration();
  EXPECT_EQ(ran, posted.load());
  EXPECT_GT(cycles, 0u);
  EXPECT_TRUE(log.lines().empty());
}

constexpr std::size_t kChunk = std::size_t{16} << 10;
constexpr std::size_t kChunks = 500;

char pattern_byte(std::size_t offset) {
  return static_cast<char>((offset * 131 + offset / 7) % 256);
}

Task<void> write_stream(EventLoop& loop, const Socket& socket) {
  std::string chunk(kChunk, '\0');
  for (std::size_t index = 0; index < kChunks; ++index) {
    for (std::size_t i = 0; i < kChunk; ++i) chunk[i] = pattern_byte(index * kChunk + i);
    co_await restrack::sock_sendall(loop, socket, chunk);
  }
}

// Pausing means not re-arming the next receive for a while; the in-flight receive is never
// cancelled (rule 5), so nothing can be lost.
Task<std::size_t> read_stream_with_pauses(EventLoop& loop, const Socket& socket) {
  std::mt19937 random(12345);
  std::size_t offset = 0;
  std::size_t mismatches = 0;
  while (offset < kChunk * kChunks) {
    const std::string data = co_await restrack::sock_recv(loop, socket, kChunk);
    if (data.empty()) break;
    for (char byte : data) mismatches += byte == pattern_byte(offset++) ? 0 : 1;
    if (random() % 8 == 0) co_await loop.sleep(std::chrono::microseconds(random() % 200));
  }
  EXPECT_EQ(offset, kChunk * kChunks);
  co_return mismatches;
}

Task<std::size_t> stream_with_pauses(EventLoop& loop, const Socket& writer, const Socket& reader) {
  Task<void> writing = loop.create_task(write_stream(loop, writer));
  const std::size_t mismatches = co_await read_stream_with_pauses(loop, reader);
  co_await writing;
  co_return mismatches;
}

TEST_F(IocpReliabilityTest, Rule5PauseByNotRearmingKeepsTheStreamByteExact) {
  SocketPair sockets;
  EXPECT_EQ(loop.run_until_complete(stream_with_pauses(loop, sockets.second, sockets.first)), 0u);
}

}  // namespace
}  // namespace restrack_test
