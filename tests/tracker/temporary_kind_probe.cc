// Must not compile: a guard keeps its Kind by address, so a temporary Kind would dangle
// (tests/tracker/CMakeLists.txt expects the deleted overloads to be named).
#include "restrack/tracker.h"

int main() {
  restrack::ResourceGuard guard;
  guard.open(restrack::Kind{"temporary"}, nullptr);
  restrack::TrackedFd fd(0, restrack::Kind{"temporary"});
  return 0;
}
