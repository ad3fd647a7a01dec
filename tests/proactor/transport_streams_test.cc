// StreamReader's reads on the scripted backend: when a read completes without suspending,
// when its task is woken, and what cancelling it leaves in the buffer. The test decides when
// each receive completes and with which bytes; nothing depends on timing. Real-socket
// streams are in transport_test.cc.
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "restrack/proactor/combinators.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/streams.h"
#include "transport_fixture.h"

namespace restrack_test {
namespace {

using namespace std::chrono_literals;
using restrack::CancelledError;
using restrack::SocketAddress;
using restrack::StreamReader;
using restrack::StreamWriter;
using restrack::Task;
using restrack::internal::OperationType;

class StreamReadTest : public TransportFakeTest {
 protected:
  // Opens streams through the fake backend (the connect completes at once); the first
  // receive is then in flight.
  StreamReadTest() {
    fake.script_next(FakeBackend::Start::done_at_once, 0);
    streams = loop.run_until_complete(
        restrack::open_connection(loop, SocketAddress::ipv4("127.0.0.1", 9)));
  }
  ~StreamReadTest() override {
    streams.second.close();
    run_iterations(2);
  }

  // The receive in flight completes with `data`; the loop runs one iteration, which
  // delivers it (and runs what that made ready).
  void arrive(std::string_view data) {
    complete_recv(in_flight(OperationType::recv), data);
    run_one_iteration();
  }

  std::pair<StreamReader, StreamWriter> streams;
  StreamReader& reader = streams.first;
};

Task<std::vector<std::string>> read_two_and_note_the_loop(restrack::EventLoop& loop,
                                                          StreamReader reader) {
  bool other_callback_ran = false;
  loop.call_soon([&other_callback_ran] { other_callback_ran = true; });
  std::vector<std::string> seen;
  seen.push_back(co_await reader.read_exactly(2));
  seen.push_back(co_await reader.read(3));
  seen.push_back(other_callback_ran ? "the task was suspended" : "the task ran on");
  co_return seen;
}

TEST_F(StreamReadTest, ReadWhoseBytesAreBufferedCompletesWithoutSuspending) {
  arrive("abcdef");
  EXPECT_EQ(loop.run_until_complete(read_two_and_note_the_loop(loop, reader)),
            (std::vector<std::string>{"ab", "cde", "the task ran on"}));
}

TEST_F(StreamReadTest, WaitingReadCompletesOnlyOnceItsCountHasArrived) {
  Task<std::string> read = loop.create_task(Task<std::string>(reader.read_exactly(6)));
  run_one_iteration();
  arrive("ab");
  EXPECT_FALSE(read.done());
  arrive("cd");
  EXPECT_FALSE(read.done());
  arrive("efgh");
  run_one_iteration();
  ASSERT_TRUE(read.done());
  EXPECT_EQ(read.take_result(), "abcdef");
  EXPECT_EQ(loop.run_until_complete(Task<std::string>(reader.read(10))), "gh");
}

TEST_F(StreamReadTest, WaitingReadLineCompletesAtTheSeparatorSplitAcrossReceives) {
  Task<std::string> line = loop.create_task(Task<std::string>(reader.read_until("\r\n")));
  run_one_iteration();
  arrive("one\r");
  EXPECT_FALSE(line.done());
  arrive("\ntwo");
  run_one_iteration();
  ASSERT_TRUE(line.done());
  EXPECT_EQ(line.take_result(), "one\r\n");
}

TEST_F(StreamReadTest, CancellingAWaitingReadTakesNothingAndTheNextReadGetsTheBytes) {
  Task<std::string> read = loop.create_task(Task<std::string>(reader.read_exactly(4)));
  run_one_iteration();
  read.cancel();
  run_one_iteration();
  EXPECT_TRUE(read.cancelled());
  arrive("abcd");
  EXPECT_EQ(loop.run_until_complete(Task<std::string>(reader.read_exactly(4))), "abcd");
}

TEST_F(StreamReadTest, CancellingAfterTheWakeUpWasQueuedStillTakesNothing) {
  Task<std::string> read = loop.create_task(Task<std::string>(reader.read_exactly(4)));
  run_one_iteration();
  // Runs first in the next iteration, after the receive woke the read, before its task
  // resumes.
  loop.call_soon([&read] { read.cancel(); });
  arrive("abcd");
  run_one_iteration();
  ASSERT_TRUE(read.done());
  EXPECT_THROW(read.take_result(), CancelledError);
  EXPECT_EQ(loop.run_until_complete(Task<std::string>(reader.read_exactly(4))), "abcd");
}

Task<std::string> read_one(StreamReader reader) {
  try {
    co_return co_await reader.read(1);
  } catch (const std::logic_error& error) {
    co_return error.what();
  }
}

TEST_F(StreamReadTest, SecondReadWhileAnotherTasksReadWaitsThrows) {
  Task<std::string> first = loop.create_task(Task<std::string>(reader.read_exactly(4)));
  run_one_iteration();
  EXPECT_EQ(loop.run_until_complete(read_one(reader)),
            "another task is already reading this stream");
  arrive("abcd");
  run_one_iteration();
  ASSERT_TRUE(first.done());
  EXPECT_EQ(first.take_result(), "abcd");
}

Task<std::string> read_line_within(StreamReader reader, std::chrono::milliseconds timeout) {
  try {
    co_return co_await restrack::wait_for(Task<std::string>(reader.read_line()), timeout);
  } catch (const restrack::TimeoutError&) {
    co_return "timed out";
  }
}

TEST_F(StreamReadTest, ReadAsATaskTimesOutWithWaitForAndLeavesTheBufferForTheNextRead) {
  EXPECT_EQ(loop.run_until_complete(read_line_within(reader, 1ms)), "timed out");
  arrive("hi\n");
  EXPECT_EQ(loop.run_until_complete(read_line_within(reader, 1000ms)), "hi\n");
}

// Backpressure (reading pauses past twice the limit) never starves a read that waits for
// more than that: one to end-of-file, or read_exactly() of more than twice the limit.
class StreamBackpressureTest : public TransportFakeTest {
 protected:
  static constexpr std::size_t kLimit = 4;

  StreamBackpressureTest() {
    fake.script_next(FakeBackend::Start::done_at_once, 0);
    streams = loop.run_until_complete(
        restrack::open_connection(loop, SocketAddress::ipv4("127.0.0.1", 9), kLimit));
  }
  ~StreamBackpressureTest() override {
    streams.second.close();
    run_iterations(2);
  }

  // The receive in flight completes with `data` (end-of-file when empty).
  void arrive(std::string_view data) {
    complete_recv(in_flight(OperationType::recv), data);
    run_one_iteration();
  }
  bool receiving() {
    for (OperationKey key : fake.observations().submitted) {
      const restrack::internal::Operation* operation = fake.find(key);
      if (operation != nullptr && operation->type == OperationType::recv) return true;
    }
    return false;
  }

  std::pair<StreamReader, StreamWriter> streams;
  StreamReader& reader = streams.first;
};

TEST_F(StreamBackpressureTest, ReadToEndOfFileKeepsTheTransportReadingPastTwiceTheLimit) {
  Task<std::string> all = loop.create_task(Task<std::string>(reader.read()));
  run_one_iteration();
  for (std::string_view chunk : {"abcd", "efgh", "ijkl", "mnop"}) arrive(chunk);
  arrive("");
  run_one_iteration();
  ASSERT_TRUE(all.done());
  EXPECT_EQ(all.take_result(), "abcdefghijklmnop");
}

TEST_F(StreamBackpressureTest, ReadStartedAfterThePauseResumesTheTransport) {
  for (std::string_view chunk : {"abcd", "efgh", "ijkl"}) arrive(chunk);
  EXPECT_FALSE(receiving()) << "12 bytes buffered, more than twice the limit: reading pauses";
  Task<std::string> exactly = loop.create_task(Task<std::string>(reader.read_exactly(16)));
  run_one_iteration();
  arrive("mnop");
  run_one_iteration();
  ASSERT_TRUE(exactly.done());
  EXPECT_EQ(exactly.take_result(), "abcdefghijklmnop");
}

}  // namespace
}  // namespace restrack_test
