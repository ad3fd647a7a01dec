// What Windows does where reliability_posix_test.cc holds Linux's behaviour
// (docs/windows.md, "Differences on Windows").
#include <string>

#include <gtest/gtest.h>

#include "probe.h"

namespace {

// restrack forces the status with ExitProcess from its exit handler; the C runtime has
// detached its atexit table by then, so a handler registered before restrack's never runs.
TEST(ReliabilityTest, ForcedExitStatusEndsTheProcessBeforeEarlierExitHandlers) {
  const ProcessResult result =
      restrack_test::run_probe(RESTRACK_RELIABILITY_PROBE, "atexit-first",
                               "action=error:exit_code=3", {"RESTRACK_PROBE_ATEXIT=1"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "main returns\n");
}

// The counterpart of the ucontext fiber test (reliability_posix_test.cc), where a
// frame-pointer walk cannot know the fiber's stack and says so. On Windows both capture
// modes unwind through the unwind tables (RtlCaptureStackBackTrace, or the compiler
// runtime's unwinder), which know a fiber's frames: its handle has its trace, down to the
// fiber's start routine.
TEST(ReliabilityTest, HandleLeakedOnAFiberHasItsAllocationTraceInBothCaptureModes) {
  for (const char* capture : {"fp", "dwarf"}) {
    const ProcessResult result =
        restrack_test::run_probe(RESTRACK_RELIABILITY_WINDOWS_PROBE, "fiber",
                                 std::string("trace_depth=16:capture=") + capture);
    EXPECT_EQ(result.exit_code, 0) << capture << "\n" << result.err;
    EXPECT_EQ(result.out, "main returns\n") << capture;
    EXPECT_NE(result.err.find("tests/tracker/reliability_windows_probe.cc:19: ResourceWarning: "
                              "unclosed handle <" +
                              restrack_test::description_prefix()),
              std::string::npos)
        << capture << "\n"
        << result.err;
    EXPECT_NE(result.err.find("  #0 (anonymous namespace)::leak_on_fiber() at "
                              "tests/tracker/reliability_windows_probe.cc:18\n"),
              std::string::npos)
        << capture << "\n"
        << result.err;
    EXPECT_NE(result.err.find("(anonymous namespace)::run_fiber(void*) at "
                              "tests/tracker/reliability_windows_probe.cc:22\n"),
              std::string::npos)
        << capture << "\n"
        << result.err;
    EXPECT_EQ(result.err.find("No allocation trace"), std::string::npos) << capture;
  }
}

}  // namespace
