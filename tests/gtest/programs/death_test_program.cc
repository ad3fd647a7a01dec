// Child program: a test that leaks and then runs death tests, whose child processes
// open resources of their own. Linked with restrack::gtest_main.
#include <gtest/gtest.h>

#include <cstdlib>

#include "test_resource.h"

TEST(DeathTest, LeaksAroundDeathTests) {  // marker: DeathTest test
  new TestResource("before-death");       // marker: DeathTest opens
  EXPECT_DEATH(
      {
        new TestResource("in-dying-child");
        TestResource destroyed("destroyed-in-dying-child");
        std::abort();
      },
      "");
  EXPECT_EXIT(
      {
        new TestResource("in-exiting-child");
        std::exit(0);
      },
      testing::ExitedWithCode(0), "");
}

TEST(DeathTest, ClosesWhatItOpens) {
  TestResource resource("closed");
  resource.close();
}
