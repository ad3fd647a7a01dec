// Child program: opens and closes resources everywhere a leak could be blamed (global,
// environment, suite, test, other thread, scoped check), closing each. Must pass.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "restrack/gtest/gtest.h"
#include "test_resource.h"

class TidyEnvironment : public testing::Environment {
 public:
  void SetUp() override { resource_ = std::make_unique<TestResource>("environment"); }
  void TearDown() override {
    resource_->close();
    resource_.reset();
  }

 private:
  std::unique_ptr<TestResource> resource_;
};
testing::Environment* const environment = testing::AddGlobalTestEnvironment(new TidyEnvironment());

class TidySuite : public testing::Test {
 protected:
  static void SetUpTestSuite() { suite_resource_ = new TestResource("suite"); }
  static void TearDownTestSuite() {
    suite_resource_->close();
    delete suite_resource_;
  }
  static TestResource* suite_resource_;
};
TestResource* TidySuite::suite_resource_ = nullptr;

TEST_F(TidySuite, UsesTheSuiteResource) { suite_resource_->use(); }

TEST_F(TidySuite, ClosesOnAnotherThread) {
  std::thread([] {
    TestResource resource("thread");
    resource.close();
  }).join();
}

TEST(Tidy, ClosesInAScopedCheck) {
  RESTRACK_SCOPED_LEAK_CHECK();
  TestResource resource("scoped");
  resource.close();
}
