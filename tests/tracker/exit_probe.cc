// A program the exit tests run as a child process: what it leaks depends on argv[1].
//   static-leak   a static object still holds an open handle when the process exits
//   leak          main lets one handle be destroyed unclosed, one static handle be
//                 destroyed at exit, and one heap handle never be destroyed
#include <cstdio>
#include <cstring>

#include "restrack/tracker.h"
#include "test_object.h"

namespace {

restrack::TrackedFd open_socket() {
  return restrack::TrackedFd(restrack_test::open_test_object(), restrack::kinds::socket);
}

struct Cache {
  restrack::TrackedFd connection;
};

Cache& cache() {
  static Cache instance;
  return instance;
}

void leak_one() { restrack::TrackedFd fd = open_socket(); }

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "static-leak") == 0) {
    cache().connection = open_socket();
  } else if (std::strcmp(mode, "leak") == 0) {
    leak_one();
    static restrack::TrackedFd kept = open_socket();
    (void)kept;
    (void)new restrack::TrackedFd(open_socket());  // never destroyed: still open at exit
  } else {
    std::fprintf(stderr, "usage: exit_probe static-leak|leak\n");
    return 2;
  }
  std::fprintf(stdout, "main returns\n");
  return 0;
}
