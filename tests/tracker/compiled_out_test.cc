// RESTRACK_TRACKING=0: guards are empty, handles are the size of what they hold, and
// nothing is registered or reported. Built against restrack_tracker_compiled_out.
#include <gtest/gtest.h>

#include <type_traits>

#include "owner_pattern.h"
#include "restrack/tracker.h"
#include "test_object.h"

static_assert(RESTRACK_TRACKING == 0);
static_assert(std::is_empty_v<restrack::ResourceGuard>);
static_assert(sizeof(restrack::TrackedFd) == sizeof(int));

struct UntrackedOwner {
  int fd;
};
struct TrackedOwner {
  int fd;
  [[no_unique_address]] restrack::ResourceGuard guard;
};
static_assert(sizeof(TrackedOwner) == sizeof(UntrackedOwner));

namespace {

TEST(CompiledOutTest, NothingIsRegisteredAndLeaksAreClosedSilently) {
  const int fds[2] = {restrack_test::open_test_object(), restrack_test::open_test_object()};
  ASSERT_GE(fds[0], 0);
  ASSERT_GE(fds[1], 0);
  const restrack::Snapshot snapshot = restrack::Snapshot::take();
  {
    restrack::TrackedFd kept(fds[0], restrack::kinds::socket);
    restrack::TrackedFd leaked(fds[1], restrack::kinds::socket);
    EXPECT_EQ(restrack::live_count(), 0u);
    EXPECT_TRUE(restrack::live_resources().empty());
    EXPECT_TRUE(snapshot.opened_since().empty());
    EXPECT_EQ(kept.close(), 0);
  }
  EXPECT_EQ(restrack_test::identity_of(fds[1]), "");  // the destructor still closes
  EXPECT_EQ(restrack::capture_trace(), restrack::kNoTrace);
  EXPECT_EQ(restrack::diagnostic_counts().dispatched, 0u);
}

using restrack_test::Connection;

TEST(CompiledOutTest, OwnerClosingTwiceReleasesOnce) {
  int releases = 0;
  {
    Connection connection(&releases);
    connection.close();
    connection.close();
  }
  EXPECT_EQ(releases, 1);
  int leaked = 0;
  { Connection connection(&leaked); }
  EXPECT_EQ(leaked, 1);  // the destructor still releases
}

}  // namespace
