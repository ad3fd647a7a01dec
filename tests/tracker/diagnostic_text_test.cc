// The exact text of each ResourceWarning (DESIGN.md, "What a user sees"), with frames
// that start in the test's own code.
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "test_object.h"
#include "tracker_test.h"

using restrack_test::at;
using restrack_test::TrackerTest;

using restrack_test::description_of;

static restrack::TrackedFd open_test_socket() {
  return restrack::TrackedFd(restrack_test::open_test_object(),
                             restrack::kinds::socket);  // kOpenLine
}
constexpr int kOpenLine = __LINE__ - 2;

static void close_it(restrack::TrackedFd& fd) {
  fd.close();  // kCloseLine
}
constexpr int kCloseLine = __LINE__ - 2;

using DiagnosticTextTest = TrackerTest;

TEST_F(DiagnosticTextTest, UnclosedNamesDestroySiteKindDescriptionAndAllocationTrace) {
  std::optional<restrack::TrackedFd> fd(open_test_socket());  // kCallerLine
  const int caller_line = __LINE__ - 1;
  const int number = fd->get();
  const std::string socket = restrack_test::identity_of(number);
  fd.reset();  // destroyed while open
  const int destroy_line = __LINE__ - 1;

  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, destroy_line) + ": ResourceWarning: unclosed socket <" +
                description_of(number) +
                ">\n"
                "Object allocated at (most recent call first):\n"
                "  #0 open_test_socket() at " +
                at(__FILE__, kOpenLine) +
                "\n"
                "  #1 DiagnosticTextTest_UnclosedNamesDestroySiteKindDescriptionAndAllocationTrace_"
                "Test::TestBody() at " +
                at(__FILE__, caller_line));
  // restrack closed the descriptor itself.
  EXPECT_NE(restrack_test::identity_of(number), socket);
}

TEST_F(DiagnosticTextTest, ClosedTwiceAddsTheFirstCloseTrace) {
  restrack::TrackedFd fd = open_test_socket();
  const int open_line = __LINE__ - 1;
  const int number = fd.get();
  close_it(fd);
  const int first_close_line = __LINE__ - 1;
  fd.close();
  const int second_close_line = __LINE__ - 1;

  const std::string test = "DiagnosticTextTest_ClosedTwiceAddsTheFirstCloseTrace_Test::TestBody()";
  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, second_close_line) + ": ResourceWarning: socket closed twice <fd=" +
                std::to_string(number) + " (closed)>\n" +
                "Object allocated at (most recent call first):\n" + "  #0 open_test_socket() at " +
                at(__FILE__, kOpenLine) + "\n" + "  #1 " + test + " at " + at(__FILE__, open_line) +
                "\n" + "First closed at (most recent call first):\n" +
                "  #0 close_it(restrack::TrackedFd&) at " + at(__FILE__, kCloseLine) + "\n" +
                "  #1 " + test + " at " + at(__FILE__, first_close_line));
}

TEST_F(DiagnosticTextTest, UseAfterCloseNamesTheUseSite) {
  restrack::TrackedFd fd = open_test_socket();
  const int number = fd.get();
  fd.close();
  EXPECT_EQ(fd.get(), -1);
  const int use_line = __LINE__ - 1;

  ASSERT_EQ(captured_.texts().size(), 1u);
  const std::string text = captured_.texts()[0];
  const std::string first_line =
      at(__FILE__, use_line) +
      ": ResourceWarning: socket used after close <fd=" + std::to_string(number) + " (closed)>\n";
  EXPECT_EQ(text.substr(0, first_line.size()), first_line);
  EXPECT_NE(text.find("First closed at (most recent call first):\n"), std::string::npos);
}

TEST_F(DiagnosticTextTest, WithoutTracesTheSecondPartIsTheHint) {
  ASSERT_TRUE(restrack::apply_options("trace_depth=0"));
  std::optional<restrack::TrackedFd> fd(open_test_socket());
  const int number = fd->get();
  fd.reset();
  const int destroy_line = __LINE__ - 1;

  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, destroy_line) + ": ResourceWarning: unclosed socket <" +
                description_of(number) +
                ">\n"
                "Enable allocation traces (RESTRACK_OPTIONS=trace_depth=16) to see where it "
                "was allocated");
}

// A recursion deeper than the trace: exactly trace_depth frames, innermost first.
[[gnu::noinline]] static restrack::TrackedFd open_at_depth(int depth) {
  if (depth == 0) return open_test_socket();
  restrack::TrackedFd fd = open_at_depth(depth - 1);
  asm volatile("" ::: "memory");  // keeps the call from becoming a tail call
  return fd;
}
constexpr int kBaseCaseLine = __LINE__ - 5;
constexpr int kRecursionLine = __LINE__ - 5;

TEST_F(DiagnosticTextTest, TraceHoldsExactlyTraceDepthUserFrames) {
  ASSERT_TRUE(restrack::apply_options("trace_depth=5"));
  std::optional<restrack::TrackedFd> fd(open_at_depth(10));
  fd.reset();

  ASSERT_EQ(captured_.records().size(), 1u);
  const std::vector<restrack::Frame> frames =
      restrack::symbolize_trace(captured_.records()[0].allocation_trace);
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(frames[0].function, "open_test_socket()");
  EXPECT_EQ(frames[0].line, static_cast<unsigned>(kOpenLine));
  for (std::size_t i = 1; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].function, "open_at_depth(int)");
    EXPECT_EQ(frames[i].file, __FILE__);
    EXPECT_EQ(frames[i].line, static_cast<unsigned>(i == 1 ? kBaseCaseLine : kRecursionLine));
  }
}

struct Thrower {
  restrack::ResourceGuard guard;
};

TEST_F(DiagnosticTextTest, DescribeThatThrowsFallsBackToKindAndAddress) {
  static constexpr restrack::Kind kWidget{"widget"};
  auto thrower = std::make_unique<Thrower>();
  thrower->guard.open(kWidget, thrower.get(),
                      [](const void*) -> std::string { throw std::runtime_error("boom"); });
  const void* address = thrower.get();
  thrower.reset();  // the guard's own destructor reports

  ASSERT_EQ(captured_.records().size(), 1u);
  char expected[64];
  std::snprintf(expected, sizeof expected, "widget at %p", address);
  EXPECT_EQ(captured_.records()[0].description, expected);
  EXPECT_EQ(captured_.records()[0].kind, "widget");
}

[[gnu::noinline]] static void call_through_function(const std::function<void()>& body) { body(); }

TEST_F(DiagnosticTextTest, LibraryFramesBetweenUserFramesAreDropped) {
  ASSERT_TRUE(restrack::apply_options("trace_depth=16"));
  call_through_function([] { restrack::TrackedFd fd = open_test_socket(); });

  ASSERT_EQ(captured_.records().size(), 1u);
  const std::vector<restrack::Frame> frames =
      restrack::symbolize_trace(captured_.records()[0].allocation_trace);
  ASSERT_GE(frames.size(), 4u);
  for (const restrack::Frame& frame : frames) {
    EXPECT_FALSE(frame.function.starts_with("std::")) << frame.function;
  }
  EXPECT_EQ(frames[0].function, "open_test_socket()");
  EXPECT_EQ(frames[1].function,
            "DiagnosticTextTest_LibraryFramesBetweenUserFramesAreDropped_Test::TestBody()::"
            "{lambda()#1}::operator()() const");
  // std::function's invoker frames, between the lambda and its caller, are gone.
  EXPECT_EQ(frames[2].function, "call_through_function(std::function<void ()> const&)");
  EXPECT_EQ(frames[3].function,
            "DiagnosticTextTest_LibraryFramesBetweenUserFramesAreDropped_Test::TestBody()");
}

struct EagerCoroutine {
  struct promise_type {
    EagerCoroutine get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

static EagerCoroutine leak_in_coroutine(int) {
  restrack::TrackedFd fd = open_test_socket();
  co_return;
}

TEST_F(DiagnosticTextTest, CoroutineBodyIsNamedAsWritten) {
  leak_in_coroutine(1);

  ASSERT_EQ(captured_.records().size(), 1u);
  const std::vector<restrack::Frame> frames =
      restrack::symbolize_trace(captured_.records()[0].allocation_trace);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].function, "open_test_socket()");
  EXPECT_EQ(frames[1].function, "leak_in_coroutine(int) [coroutine]");
}

#if defined(__linux__) && !RESTRACK_TEST_SYMBOLIZER_BOOST
// Calls inlined into one another, as an optimizing compiler leaves them everywhere (GCC
// inlines always_inline functions at -O0 too). libdw's scope lookup gives only the
// innermost inlined call; the symbolizer gives each call a frame of its own, as
// `addr2line -i` does. (The Boost.Stacktrace symbolizer gives none: docs/windows.md.)
namespace inlined {
[[gnu::always_inline]] inline restrack::TrackedFd open_once() {
  return open_test_socket();  // kOnceLine
}
constexpr int kOnceLine = __LINE__ - 2;
[[gnu::always_inline]] inline restrack::TrackedFd open_twice() {
  return open_once();  // kTwiceLine
}
constexpr int kTwiceLine = __LINE__ - 2;
}  // namespace inlined

TEST_F(DiagnosticTextTest, CallsInlinedIntoInlinedCallsAreFramesOfTheirOwn) {
  ASSERT_TRUE(restrack::apply_options("trace_depth=16"));
  { restrack::TrackedFd fd = inlined::open_twice(); }
  const int caller_line = __LINE__ - 1;

  ASSERT_EQ(captured_.records().size(), 1u);
  std::vector<std::string> frames;
  for (const restrack::Frame& frame :
       restrack::symbolize_trace(captured_.records()[0].allocation_trace)) {
    frames.push_back(frame.function + " at " + frame.file + ":" + std::to_string(frame.line));
  }
  ASSERT_GE(frames.size(), 4u);
  frames.resize(4);  // GoogleTest's frames follow
  EXPECT_EQ(frames, (std::vector<std::string>{
                        "open_test_socket() at " + at(__FILE__, kOpenLine),
                        "inlined::open_once() at " + at(__FILE__, inlined::kOnceLine),
                        "inlined::open_twice() at " + at(__FILE__, inlined::kTwiceLine),
                        "DiagnosticTextTest_CallsInlinedIntoInlinedCallsAreFramesOfTheirOwn_Test::"
                        "TestBody() at " +
                            at(__FILE__, caller_line)}));
}
#endif

// Functions defined in a class body are emitted in COMDAT sections; the symbolizer must
// still find their lines (libbacktrace did not, in programs of this size).
struct InClassOpener {
  static restrack::TrackedFd open() { return open_test_socket(); }
  static constexpr int kLine = __LINE__ - 1;
};

#if RESTRACK_TEST_SYMBOLIZER_BOOST
// What the Boost.Stacktrace symbolizer gives less (docs/windows.md): libbacktrace names
// the function but has no file or line for it.
TEST_F(DiagnosticTextTest, InClassMemberFunctionsHaveNoLinesUnderLibbacktrace) {
#else
TEST_F(DiagnosticTextTest, InClassMemberFunctionsHaveTheirLines) {
#endif
  { restrack::TrackedFd fd = InClassOpener::open(); }

  ASSERT_EQ(captured_.records().size(), 1u);
  const std::vector<restrack::Frame> frames =
      restrack::symbolize_trace(captured_.records()[0].allocation_trace);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].function, "InClassOpener::open()");
#if RESTRACK_TEST_SYMBOLIZER_BOOST
  EXPECT_EQ(frames[1].file, "");
  EXPECT_EQ(frames[1].line, 0u);
#else
  EXPECT_EQ(frames[1].file, __FILE__);
  EXPECT_EQ(frames[1].line, static_cast<unsigned>(InClassOpener::kLine));
#endif
}
