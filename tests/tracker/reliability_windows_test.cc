// What Windows does where reliability_posix_test.cc holds Linux's behaviour
// (docs/windows.md, "Differences on Windows").
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

}  // namespace
