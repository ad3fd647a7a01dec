// Child program: one test per way of leaking, and tests that must not be blamed for them.
// Linked with restrack::gtest_main. The driver finds lines by their "marker:" comments.
#include <gtest/gtest.h>

#include <thread>

#include "restrack/gtest/gtest.h"
#include "test_resource.h"

TEST(Leaky, LeavesOneOpen) {      // marker: LeavesOneOpen test
  new TestResource("left-open");  // marker: LeavesOneOpen opens
}

TEST(Leaky, DestroysOneUnclosed) {              // marker: DestroysOneUnclosed test
  TestResource resource("destroyed-unclosed");  // marker: DestroysOneUnclosed opens
}

TEST(Leaky, ClosesTwice) {
  TestResource resource("closed-twice");  // marker: ClosesTwice opens
  resource.close();                       // marker: ClosesTwice first close
  resource.close();
}

TEST(Leaky, UsesAfterClose) {
  TestResource resource("used-after-close");  // marker: UsesAfterClose opens
  resource.close();                           // marker: UsesAfterClose closes
  resource.use();
}

TEST(Leaky, LeavesOneOpenOnAnotherThread) {
  std::thread([] {
    new TestResource("opened-on-a-thread");  // marker: thread opens
  }).join();
}

TEST(Leaky, DestroysOneUnclosedOnAnotherThread) {
  std::thread([] {
    TestResource resource("destroyed-on-a-thread");  // marker: thread destroys
  }).join();
}

TEST(Leaky, LeavesTwoOpen) {
  new TestResource("first");   // marker: LeavesTwoOpen first
  new TestResource("second");  // marker: LeavesTwoOpen second
}

TEST(Leaky, AllowsLeaks) {
  RESTRACK_ALLOW_LEAKS();
  new TestResource("allowed");
  TestResource destroyed("allowed-unclosed");
}

TEST(Leaky, AllowsLeaksThroughTheTestProperty) {
  RecordProperty("restrack_allow_leaks", "1");
  new TestResource("allowed-by-property");
}

TEST(Leaky, ClosesWhatItOpens) {
  TestResource resource("closed");
  resource.close();
}

TEST(ScopedCheck, FailsForWhatTheRegionLeftOpen) {
  TestResource outside("outside-the-region");
  {
    RESTRACK_SCOPED_LEAK_CHECK();  // marker: scoped check
    new TestResource("left-in-region");
    TestResource closed_in_region("closed-in-region");
    closed_in_region.close();
  }
  outside.close();
}

TEST(ScopedCheck, PassesForARegionThatClosesEverything) {
  RESTRACK_SCOPED_LEAK_CHECK();
  TestResource resource("closed");
  resource.close();
}
