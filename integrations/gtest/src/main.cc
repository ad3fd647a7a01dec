// restrack::gtest_main: GoogleTest's main with the leak listener installed.
#include <gtest/gtest.h>

#include "restrack/gtest/listener.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  restrack::gtest::install();
  return RUN_ALL_TESTS();
}
