// Child program: its own main installs the listener with options. The Suppressed* tests
// pass only with RESTRACK_OPTIONS=suppressions=programs/suppressions.txt.
#include <gtest/gtest.h>

#include "restrack/gtest/gtest.h"
#include "test_resource.h"

namespace {

TestResource* open_in_suppressed_function() { return new TestResource("suppressed-by-site"); }

}  // namespace

TEST(CustomMain, IgnoredKindIsNotReported) {
  new TestResource("ignored", kIgnoredResource);
  TestResource destroyed("ignored-unclosed", kIgnoredResource);
}

TEST(CustomMain, SuppressedSiteIsNotReported) { open_in_suppressed_function(); }

TEST(CustomMain, SuppressedKindIsNotReported) {
  new TestResource("suppressed-by-kind", kSuppressedResource);
  TestResource destroyed("suppressed-unclosed", kSuppressedResource);
}

TEST(CustomMain, LeavesOneOpen) {   // marker: CustomMain.LeavesOneOpen test
  new TestResource("custom-main");  // marker: CustomMain.LeavesOneOpen opens
}

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  restrack::gtest::install({.ignore_kinds = {"ignored resource"}});
  return RUN_ALL_TESTS();
}
