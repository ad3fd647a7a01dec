// A GoogleTest suite linked with restrack::gtest_main: under restrack-run, a test that
// leaves a raw descriptor open fails, naming it. Run by tests/run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

namespace {

int open_raw() { return ::open("/dev/null", O_RDONLY); }

TEST(RawDescriptors, ClosesWhatItOpens) {
  const int fd = open_raw();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::close(fd), 0);
}

TEST(RawDescriptors, LeavesOneOpen) {
  const int fd = open_raw();
  EXPECT_GE(fd, 0);
}

TEST(RawDescriptors, LeavesAStreamOpen) {
  FILE* stream = std::fopen("/dev/null", "r");
  EXPECT_NE(stream, nullptr);
}

}  // namespace
