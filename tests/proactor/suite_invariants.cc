// The whole suite's invariant of rule 1: no operation is ever freed while in flight.
#include <gtest/gtest.h>

#include "restrack/proactor/event_loop.h"

namespace {

class NoOperationFreedInFlight final : public testing::Environment {
 public:
  void TearDown() override {
    EXPECT_EQ(restrack::operations_freed_in_flight(), 0u)
        << "rule 1: operations were freed while the kernel could still write into them";
  }
};

const testing::Environment* const registered =
    testing::AddGlobalTestEnvironment(new NoOperationFreedInFlight);

}  // namespace
