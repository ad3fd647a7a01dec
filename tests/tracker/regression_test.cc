// Regression tests for bugs a close read and an adversarial run found (issues 7 and 8):
// each failed before its fix. Child-process cases are in reliability_test.cc.
#include <algorithm>
#include <boost/json.hpp>
#include <climits>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "capture.h"
#include "owner_pattern.h"
#include "registry.h"
#include "report_path_test.h"
#include "symbolize.h"
#include "test_object.h"
#include "tracker_test.h"

namespace {

using restrack_test::at;
using restrack_test::TrackerTest;
using RegressionTest = TrackerTest;

constexpr restrack::Kind kWidget{"widget"};

using restrack_test::process_id;
using restrack_test::read_file;
using restrack_test::ReportPathTest;

restrack::TrackedFd open_object() { return restrack::TrackedFd(restrack_test::open_test_object()); }

// ---- Issue 7 ---------------------------------------------------------------------------

TEST_F(RegressionTest, ResourceIsUnregisteredBeforeItsOwnerReleasesIt) {
  // A live-set query during the release (from any thread) must not describe a resource
  // whose OS handle is already gone.
  std::vector<std::string> seen_while_releasing;
  {
    restrack::ResourceGuard guard;
    guard.open(kWidget, nullptr);
    guard.release_and_warn([&]() noexcept {
      for (const restrack::ResourceInfo& info : restrack::live_resources()) {
        if (info.kind == "widget") seen_while_releasing.emplace_back(info.kind);
      }
    });
  }
  EXPECT_TRUE(seen_while_releasing.empty());
  EXPECT_EQ(captured_.texts().size(), 1u);
}

TEST_F(RegressionTest, HugeLibraryFrameCountStillCapturesATrace) {
  restrack::ResourceGuard guard;
  guard.open(kWidget, nullptr, nullptr, INT_MAX);  // trace_depth + INT_MAX must not wrap
  EXPECT_NE(guard.allocation_trace(), restrack::kNoTrace);
  guard.close();
}

std::size_t diagnostics_in_report() {
  const std::string path =
      ::testing::TempDir() + "regression_report_" + std::to_string(process_id());
  EXPECT_TRUE(restrack::write_report(path));
  const boost::json::value report = boost::json::parse(read_file(path));
  std::remove(path.c_str());
  return report.at("diagnostics").as_array().size();
}

TEST_F(RegressionTest, ReportKeepsDiagnosticsOnlyWhileAReportIsConfigured) {
  const std::size_t before = diagnostics_in_report();
  { restrack::TrackedFd unnoticed = open_object(); }  // no report= set: not kept
  EXPECT_EQ(diagnostics_in_report(), before);
  restrack::Options options = restrack::current_options();
  options.report =
      ::testing::TempDir() + "unused.json";  // not in an options string: C:\ on Windows
  ASSERT_TRUE(restrack::set_options(options));
  { restrack::TrackedFd kept = open_object(); }
  EXPECT_EQ(diagnostics_in_report(), before + 1);
  EXPECT_EQ(captured_.texts().size(), 2u);
}

using restrack_test::Connection;

TEST_F(RegressionTest, OwnerClosingTwiceReleasesOnceAndIsReported) {
  int releases = 0;
  {
    Connection connection(&releases);
    connection.close();
    connection.close();
  }
  EXPECT_EQ(releases, 1);
  ASSERT_EQ(captured_.records().size(), 1u);
  EXPECT_EQ(captured_.records()[0].type, restrack::DiagnosticType::closed_twice);
}

std::vector<restrack::TrackedFd> descriptors;

TEST_F(RegressionTest, HandleEmplacedIntoAVectorIsTracedFromTheCaller) {
  ASSERT_TRUE(restrack::apply_options("trace_depth=2"));
  descriptors.emplace_back(restrack_test::open_test_object());  // kEmplaceLine
  const int emplace_line = __LINE__ - 1;
  descriptors.clear();  // destroyed unclosed
  const int clear_line = __LINE__ - 1;
  ASSERT_EQ(captured_.texts().size(), 1u);
  const std::string text = captured_.texts()[0];
  EXPECT_EQ(text.substr(0, text.find(':', text.find(':') + 1)), at(__FILE__, clear_line)) << text;
  EXPECT_NE(text.find("  #0 (anonymous "
                      "namespace)::RegressionTest_HandleEmplacedIntoAVectorIsTracedFromTheCaller_"
                      "Test::TestBody() at " +
                      at(__FILE__, emplace_line)),
            std::string::npos)
      << text;
}

// How GCC and Clang spell the frames of standard-library machinery: each must be seen as
// the library's, whatever its return type looks like.
TEST(FrameFilterTest, QualifiedNamesOfStandardLibraryShapes) {
  using restrack::internal::qualified_name;
  const std::pair<std::string_view, std::string_view> shapes[] = {
      {"decltype (::new ((void*)(0)) restrack::TrackedFd((declval<int>)())) "
       "std::construct_at<restrack::TrackedFd, int>(restrack::TrackedFd*, int&&)",
       "std::construct_at<restrack::TrackedFd, int>"},
      {"void std::vector<restrack::TrackedFd, std::allocator<restrack::TrackedFd> >::"
       "_M_realloc_insert<int>(__gnu_cxx::__normal_iterator<restrack::TrackedFd*, "
       "std::vector<restrack::TrackedFd> >, int&&)",
       "std::vector<restrack::TrackedFd, std::allocator<restrack::TrackedFd> >::"
       "_M_realloc_insert<int>"},
      {"std::unique_ptr<Widget, std::default_delete<Widget> > std::make_unique<Widget, int>(int&&)",
       "std::make_unique<Widget, int>"},
      {"std::_Function_handler<void (), main::{lambda()#1}>::_M_invoke(std::_Any_data const&)",
       "std::_Function_handler<void (), main::{lambda()#1}>::_M_invoke"},
      {"void std::__invoke_impl<void, main::{lambda()#1}&>(std::__invoke_other, "
       "main::{lambda()#1}&)",
       "std::__invoke_impl<void, main::{lambda()#1}&>"},
      {"std::optional<restrack::TrackedFd>::reset()", "std::optional<restrack::TrackedFd>::reset"},
      {"decltype(auto) std::__do_visit<void, std::__detail::__variant::_Variant_storage<false, "
       "int, Widget>::_M_reset()::{lambda(auto:1&&)#1}, std::variant<int, Widget>&>"
       "(std::__detail::__variant::_Variant_storage<false, int, Widget>::_M_reset()::"
       "{lambda(auto:1&&)#1}&&, std::variant<int, Widget>&)",
       "std::__do_visit<void, std::__detail::__variant::_Variant_storage<false, int, Widget>::"
       "_M_reset()::{lambda(auto:1&&)#1}, std::variant<int, Widget>&>"},
      {"std::__n4861::coroutine_handle<void>::resume() const",
       "std::__n4861::coroutine_handle<void>::resume"},
      {"std::__1::vector<Widget, std::__1::allocator<Widget> >::__push_back_slow_path<Widget>"
       "(Widget&&)",  // Clang with libc++
       "std::__1::vector<Widget, std::__1::allocator<Widget> >::__push_back_slow_path<Widget>"},
      {"void std::_Destroy<restrack::TrackedFd>(restrack::TrackedFd*)",
       "std::_Destroy<restrack::TrackedFd>"},
      {"std::basic_ostream<char, std::char_traits<char> >& std::operator<< "
       "<std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char const*)",
       "std::operator<< <std::char_traits<char> >"},
      {"main::{lambda()#1}::operator()() const", "main::{lambda()#1}::operator()"},
      {"(anonymous namespace)::open_client(restrack::SocketAddress const&)",
       "(anonymous namespace)::open_client"},
      {"std::string make_name(int)", "make_name"},
      {"main", "main"},
  };
  for (const auto& [signature, name] : shapes) {
    EXPECT_EQ(qualified_name(signature), name) << signature;
  }
}

// ---- Issue 8 ---------------------------------------------------------------------------

class RemovingItself final : public restrack::DiagnosticHandler {
 public:
  void on_diagnostic(const restrack::Diagnostic&) noexcept override {
    ++calls;
    restrack::remove_handler(this);
  }
  int calls = 0;
};

TEST_F(RegressionTest, HandlerMayRemoveItselfWhileItRuns) {
  RemovingItself handler;
  restrack::add_handler(&handler);
  { restrack::TrackedFd leaked = open_object(); }
  { restrack::TrackedFd leaked = open_object(); }
  EXPECT_EQ(handler.calls, 1);
  EXPECT_EQ(captured_.texts().size(), 2u);
}

struct Owned {
  Owned() { guard.open(kWidget, this); }
  Owned(Owned&& other) noexcept { guard.move_from(other.guard, this); }
  Owned& operator=(Owned&& other) noexcept {
    guard.move_from(other.guard, this);
    return *this;
  }
  ~Owned() {
    guard.release_and_warn([]() noexcept {});
  }
  restrack::ResourceGuard guard;
};

TEST_F(RegressionTest, SelfMoveAssignmentOfAnOwnerKeepsItOpen) {
  Owned owned;
  Owned& same = owned;
  owned = std::move(same);
  EXPECT_NE(owned.guard.allocation_trace(), restrack::kNoTrace);
  EXPECT_TRUE(captured_.texts().empty());
  owned.guard.close();
}

TEST_F(RegressionTest, MovingOntoAnOpenGuardReportsTheResourceItHeld) {
  Owned overwritten;
  Owned replacement;
  overwritten = std::move(replacement);
  ASSERT_EQ(captured_.records().size(), 1u);
  EXPECT_EQ(captured_.records()[0].type, restrack::DiagnosticType::unclosed);
  overwritten.guard.close();
}

TEST_F(RegressionTest, TwoThreadsClosingOneGuardGiveOneClosedTwice) {
  // A user race; the tracker survives it and says so, every time.
  for (int round = 0; round < 200; ++round) {
    restrack::ResourceGuard guard;
    guard.open(kWidget, nullptr);
    restrack_test::Barrier start(2);
    std::thread other([&] {
      start.arrive_and_wait();
      guard.close();
    });
    start.arrive_and_wait();
    guard.close();
    other.join();
  }
  EXPECT_EQ(captured_.records().size(), 200u);
  for (const restrack::Diagnostic& record : captured_.records()) {
    EXPECT_EQ(record.type, restrack::DiagnosticType::closed_twice);
  }
}

TEST_F(RegressionTest, DescribeThatOpensAResourceFallsBackInsteadOfSpinning) {
  struct Opener {
    Opener() {
      guard.open(kWidget, this, [](const void*) {
        restrack::TrackedFd inner = open_object();
        inner.close();
        return std::string("never shown");
      });
    }
    restrack::ResourceGuard guard;
  } opener;
  const std::vector<restrack::ResourceInfo> live = restrack::live_resources();
  bool listed = false;
  for (const restrack::ResourceInfo& info : live) {
    if (info.owner == &opener) {
      listed = true;
      EXPECT_EQ(info.description.substr(0, 10), "widget at ") << info.description;
    }
  }
  EXPECT_TRUE(listed);
  EXPECT_NE(logged().find("the describe callback of a widget opened or closed a tracked resource"),
            std::string::npos)
      << logged();
  opener.guard.close();
}

TEST_F(RegressionTest, ReleasedHandleIsEmptyNotClosed) {
  restrack::TrackedFd fd = open_object();
  const int raw = fd.release();
  EXPECT_EQ(fd.get(), -1);
  EXPECT_EQ(fd.close(), EBADF);
  restrack_test::close_descriptor(raw);
  EXPECT_TRUE(captured_.texts().empty());
}

TEST_F(ReportPathTest, NameAtTheFileSystemLimitIsWritten) {
  // 255: the longest name of Linux file systems (NAME_MAX) and of NTFS.
  const std::string name = directory_ + "/" + std::string(255 - 5, 'r') + ".json";
  EXPECT_TRUE(restrack::write_report(name));
  EXPECT_EQ(boost::json::parse(read_file(name)).at("version").as_int64(), 2);
}

TEST_F(ReportPathTest, UnwritablePathIsNamedWithTheSystemsReason) {
  EXPECT_FALSE(restrack::write_report(directory_ + "/missing/report.json"));
  EXPECT_EQ(logged(), "restrack: cannot write report file '" + directory_ +
                          "/missing/report.json' (No such file or directory)\n");
}

TEST_F(ReportPathTest, DirectoryIsNamedWithTheSystemsReason) {
  EXPECT_FALSE(restrack::write_report(directory_));
  EXPECT_EQ(logged(), "restrack: cannot write report file '" + directory_ + "' (Is a directory)\n");
}

TEST_F(ReportPathTest, DoublePercentIsALiteralPercent) {
  EXPECT_TRUE(restrack::write_report(directory_ + "/100%%-%p.json"));
  EXPECT_EQ(
      boost::json::parse(read_file(directory_ + "/100%-" + std::to_string(process_id()) + ".json"))
          .at("version")
          .as_int64(),
      2);
}

TEST_F(ReportPathTest, PathWithANulByteIsRefused) {
  restrack::Options options = restrack::current_options();
  const std::string before = options.report;
  options.report = std::string("/tmp/a\0b.json", 13);
  EXPECT_FALSE(restrack::set_options(options));
  EXPECT_EQ(restrack::current_options().report, before);
  EXPECT_EQ(logged(), "restrack: report path contains a NUL byte; report setting unchanged\n");
}

// ---- Issue 9 ---------------------------------------------------------------------------

// A site that traces in a loop replays its last walk instead of walking again (RecentWalk
// in capture.h). Two callers whose frames lie at the same addresses differ only in their
// return addresses: the replay must see that, for opens and for closes alike.
std::uintptr_t capture_frame = 0;
volatile int last_caller = 0;  // gives the two callers different code and one frame layout

__attribute__((noinline)) restrack::TraceId capture_here() {
  capture_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const restrack::TraceId id = restrack::capture_trace();
  last_caller = 0;
  return id;
}
__attribute__((noinline)) restrack::TraceId capture_through_first() {
  const restrack::TraceId id = capture_here();
  last_caller = 1;
  return id;
}
__attribute__((noinline)) restrack::TraceId capture_through_second() {
  const restrack::TraceId id = capture_here();
  last_caller = 2;
  return id;
}

// The owner's closes from now on without the lock where the platform allows (Linux), so
// that they take close_node()'s common path, whose replay is compared inline, rather than
// the general one (a query made earlier, by this test's fixture or another test, leaves
// the owner locking for a while).
void close_without_lock_from_now() {
  restrack::internal::close_without_lock_from_now_for_test();
  ASSERT_EQ(restrack::internal::owner_close_state_for_test().closes_until_lock_free, 0u);
}

__attribute__((noinline)) void close_here(Connection& connection) {
  capture_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  connection.close();
  last_caller = 0;
}
__attribute__((noinline)) void close_through_first(Connection& connection) {
  close_here(connection);
  last_caller = 1;
}
__attribute__((noinline)) void close_through_second(Connection& connection) {
  close_here(connection);
  last_caller = 2;
}

// One call site for both callers, so that the frames above them are the same too.
__attribute__((noinline)) restrack::TraceId capture_through(bool first) {
  return first ? capture_through_first() : capture_through_second();
}
__attribute__((noinline)) void close_through(bool first, Connection& connection) {
  if (first) {
    close_through_first(connection);
  } else {
    close_through_second(connection);
  }
}

// The same, one frame closer: callers that call the capture or the close themselves. Their
// return addresses are in the frame that the capture or the close pushed, which the replay
// compares a word at a time (RecentWalk::same_frames in capture.h).
__attribute__((noinline)) restrack::TraceId capture_directly_first() {
  capture_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const restrack::TraceId id = restrack::capture_trace();
  last_caller = 1;
  return id;
}
__attribute__((noinline)) restrack::TraceId capture_directly_second() {
  capture_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const restrack::TraceId id = restrack::capture_trace();
  last_caller = 2;
  return id;
}
__attribute__((noinline)) void close_directly_first(restrack::ResourceGuard& guard) {
  capture_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  guard.close();
  last_caller = 1;
}
__attribute__((noinline)) void close_directly_second(restrack::ResourceGuard& guard) {
  capture_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  guard.close();
  last_caller = 2;
}
// One call instruction for both callers: the frames above them hold the same words, and
// only the callers' own return addresses differ.
restrack::TraceId (*volatile capture_directly_by)() = nullptr;
void (*volatile close_directly_by)(restrack::ResourceGuard&) = nullptr;
__attribute__((noinline)) restrack::TraceId capture_directly(bool first) {
  capture_directly_by = first ? capture_directly_first : capture_directly_second;
  const restrack::TraceId id = capture_directly_by();
  last_caller = 0;  // not a tail call
  return id;
}
__attribute__((noinline)) void close_directly(bool first, restrack::ResourceGuard& guard) {
  close_directly_by = first ? close_directly_first : close_directly_second;
  close_directly_by(guard);
  last_caller = 0;  // not a tail call
}

// Whether a frame of the trace is in `function`.
bool passes_through(restrack::TraceId id, std::string_view function) {
  const std::vector<restrack::Frame> frames = restrack::symbolize_trace(id);
  return std::any_of(frames.begin(), frames.end(), [&](const restrack::Frame& frame) {
    return frame.function.find(function) != std::string::npos;
  });
}

// The traces of the first caller, the second, then the first again, each made from
// `frames[i]`: the same place every time, a trace of its own for each caller, the first's
// again the third time.
void expect_each_caller_named(const std::vector<restrack::TraceId>& ids,
                              const std::vector<std::uintptr_t>& frames, std::string_view first,
                              std::string_view second) {
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_EQ(frames.size(), 3u);
  ASSERT_EQ(frames[1], frames[0]) << "the callers must trace from the same place";
  ASSERT_EQ(frames[2], frames[0]);
  EXPECT_NE(ids[1], ids[0]);
  EXPECT_EQ(ids[2], ids[0]);
  EXPECT_TRUE(passes_through(ids[0], first));
  EXPECT_TRUE(passes_through(ids[1], second));
}

// The allocation traces of `capture(first)` for the first caller, the second, the first.
void expect_captures_name_each(restrack::TraceId (*capture)(bool), std::string_view first,
                               std::string_view second) {
  std::vector<restrack::TraceId> ids;
  std::vector<std::uintptr_t> frames;
  for (const bool by_first : {true, false, true}) {
    ids.push_back(capture(by_first));
    frames.push_back(capture_frame);
  }
  expect_each_caller_named(ids, frames, first, second);
}

// The first close traces of three "closed twice" reports, in order.
std::vector<restrack::TraceId> first_close_traces(
    const std::vector<restrack::Diagnostic>& records) {
  std::vector<restrack::TraceId> ids;
  for (const restrack::Diagnostic& record : records) {
    EXPECT_EQ(record.type, restrack::DiagnosticType::closed_twice);
    ids.push_back(record.first_close_trace);
  }
  return ids;
}

TEST_F(RegressionTest, TraceFromFramesAtTheSameAddressesNamesItsOwnCaller) {
  expect_captures_name_each(capture_through, "capture_through_first()", "capture_through_second()");
}

TEST_F(RegressionTest, TraceFromCallersOfTheCaptureAtTheSameAddressNamesEach) {
  expect_captures_name_each(capture_directly, "capture_directly_first()",
                            "capture_directly_second()");
}

// Sites that take turns each replay their own walk: a thread remembers four walks, and a
// walk that is not among them replaces the one remembered longest. Counted by the hook
// that every walk made to be remembered calls.
int walks_made = 0;
void count_walk() noexcept { ++walks_made; }

// Captures `frames` frames below the caller: each depth is its own stack.
__attribute__((noinline)) restrack::TraceId capture_frames_deeper(int frames) {
  const restrack::TraceId id =
      frames == 0 ? restrack::capture_trace() : capture_frames_deeper(frames - 1);
  last_caller = frames;  // not a tail call
  return id;
}

// The walks made by capturing at each depth of each turn in turn. Every capture is made
// from the same call site, so that each depth is always the same stack.
__attribute__((noinline)) std::vector<int> walks_for(const std::vector<std::vector<int>>& turns,
                                                     std::map<int, restrack::TraceId>& ids) {
  std::vector<int> walks;
  for (const std::vector<int>& turn : turns) {
    walks_made = 0;
    for (const int depth : turn) {
      const restrack::TraceId id = capture_frames_deeper(depth);
      const auto [known, added] = ids.emplace(depth, id);
      EXPECT_TRUE(added || known->second == id) << "depth " << depth << ": another trace";
    }
    walks.push_back(walks_made);
  }
  return walks;
}

TEST_F(RegressionTest, SitesTakingTurnsEachReplayTheirOwnWalk) {
  static_assert(restrack::internal::RecentWalk::kWalks == 4);
  std::vector<std::vector<int>> turns(11, {0, 1, 2, 3});
  turns.push_back({4});           // a fifth stack: replaces depth 0's walk
  turns.push_back({1, 2, 3, 4});  // all four remembered
  turns.push_back({0});           // walked again; replaces depth 1's walk
  turns.push_back({2, 3, 4, 0});
  turns.push_back({1});
  std::map<int, restrack::TraceId> ids;
  restrack::internal::walk_interruption_for_test = count_walk;
  const std::vector<int> walks = walks_for(turns, ids);
  restrack::internal::walk_interruption_for_test = nullptr;

  EXPECT_EQ(walks, (std::vector<int>{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(ids.size(), 5u);
  for (const auto& [depth, id] : ids) {
    EXPECT_TRUE(passes_through(id, "capture_frames_deeper(")) << "depth " << depth;
  }
}

TEST_F(RegressionTest, CloseTraceFromFramesAtTheSameAddressesNamesItsOwnCaller) {
  ASSERT_TRUE(restrack::apply_options("trace_depth=4"));  // reaches the two callers
  int releases = 0;
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<std::uintptr_t> frames;
  close_without_lock_from_now();  // the close that replays in close_node()'s own body
  for (const bool first : {true, false, true}) {
    connections.push_back(std::make_unique<Connection>(&releases));
    close_through(first, *connections.back());
    frames.push_back(capture_frame);
  }
  for (const auto& connection : connections) connection->close();

  expect_each_caller_named(first_close_traces(captured_.records()), frames, "close_through_first(",
                           "close_through_second(");
}

TEST_F(RegressionTest, CloseTraceFromCallersOfTheCloseAtTheSameAddressNamesEach) {
  std::vector<restrack::ResourceGuard> guards(3);
  std::vector<std::uintptr_t> frames;
  const bool firsts[] = {true, false, true};
  close_without_lock_from_now();  // the close that replays in close_node()'s own body
  for (std::size_t i = 0; i < guards.size(); ++i) {
    guards[i].open(restrack_test::kConnection, &guards[i]);
    close_directly(firsts[i], guards[i]);
    frames.push_back(capture_frame);
  }
  for (restrack::ResourceGuard& guard : guards) guard.close();

  expect_each_caller_named(first_close_traces(captured_.records()), frames, "close_directly_first(",
                           "close_directly_second(");
}

}  // namespace
