// Child program: leaks that belong to no single test. Linked with restrack::gtest_main.
#include <gtest/gtest.h>

#include "test_resource.h"

// Opened before main and never closed: the program's, not the first test's.
TestResource* const global_resource = new TestResource("global");  // marker: global opens

// A global environment whose TearDown destroys a resource without closing it: a warning
// raised outside any test.
class CarelessEnvironment : public testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override { delete resource_; }

 private:
  TestResource* resource_ = nullptr;
};
void CarelessEnvironment::SetUp() {
  resource_ = new TestResource("environment");  // marker: environment opens
}

testing::Environment* const environment =
    testing::AddGlobalTestEnvironment(new CarelessEnvironment());

class SuiteLeak : public testing::Test {
 protected:
  static void SetUpTestSuite();
};

void SuiteLeak::SetUpTestSuite() {
  new TestResource("suite");  // marker: SetUpTestSuite opens
}

TEST_F(SuiteLeak, FirstTestIsNotBlamed) { SUCCEED(); }
TEST_F(SuiteLeak, SecondTestIsNotBlamed) { SUCCEED(); }

TEST(AfterTheSuite, IsNotBlamed) { SUCCEED(); }
