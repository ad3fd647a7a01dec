// restrack/gtest/scoped_check.h — check one region of a test for leaks.
//
//   TEST(Pool, ReturnsEveryConnection) {
//     Pool pool = make_pool();               // stays open until the test ends
//     {
//       RESTRACK_SCOPED_LEAK_CHECK();
//       auto connection = pool.borrow();
//       pool.give_back(std::move(connection));
//     }  // fails here if the region left anything open
//     pool.close();
//   }
//
// When the check is destroyed, the running test fails once for each tracked resource
// opened since the check was created (on any thread) and still open, with the same text
// as the listener's failures. Resources it reports are not reported again when the test
// ends. Kinds ignored by the installed ListenerOptions, suppressed resources and
// report_only apply as for the listener. Works with or without install().
#pragma once

#include "restrack/config.h"
#include "restrack/live.h"

RESTRACK_NAMESPACE_BEGIN
namespace gtest {

class ScopedLeakCheck {
 public:
  // `file` and `line` name the region in the failure text; the macro passes its own.
  ScopedLeakCheck(const char* file, int line) noexcept;
  ScopedLeakCheck(const ScopedLeakCheck&) = delete;
  ScopedLeakCheck& operator=(const ScopedLeakCheck&) = delete;
  ~ScopedLeakCheck();

 private:
  const char* file_;
  int line_;
  Snapshot start_;
};

}  // namespace gtest
RESTRACK_NAMESPACE_END

#define RESTRACK_INTERNAL_CONCAT_(a, b) a##b
#define RESTRACK_INTERNAL_CONCAT(a, b) RESTRACK_INTERNAL_CONCAT_(a, b)

// Checks from here to the end of the enclosing block.
#define RESTRACK_SCOPED_LEAK_CHECK()                                                             \
  const ::restrack::gtest::ScopedLeakCheck RESTRACK_INTERNAL_CONCAT(restrack_scoped_leak_check_, \
                                                                    __LINE__)(__FILE__, __LINE__)
