// Child program: a "service" that leaks the way real programs do, one problem per
// command-line word, so the tests can make runs that differ by one site:
//   unclosed     a descriptor destroyed without close (through a std::function, so
//                library frames sit between user frames)
//   twice        a descriptor closed twice
//   open         a socket-kind descriptor still open at exit
//   cache        a descriptor destroyed unclosed at a second site
//   after-close  a widget used after close
// Run with RESTRACK_OPTIONS=report=...; the tests read what it wrote. Lines are found by
// the "marker:" comments.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "restrack/tracked_fd.h"
#include "widget.h"

namespace {

// /dev/null at a fixed descriptor number, so that descriptions ("fd=20 /dev/null") do
// not depend on what a sanitizer runtime has open.
int open_null(int number) {
  const int fd = ::open("/dev/null", O_RDONLY);
  ::dup2(fd, number);
  ::close(fd);
  return number;
}

restrack::TrackedFd open_connection() {
  return restrack::TrackedFd(open_null(20));  // marker: open_connection
}

void serve_connection() {
  restrack::TrackedFd connection = open_connection();  // marker: serve_connection
}  // marker: connection destroyed

void handle_request(const std::function<void()>& handler) {
  handler();  // marker: handle_request
}

void close_twice() {
  restrack::TrackedFd log(open_null(21));  // marker: close_twice opens
  log.close();                             // marker: close_twice first close
  log.close();                             // marker: close_twice second close
}

void keep_listener() {
  // Never destroyed: still open at exit.
  new restrack::TrackedFd(open_null(22), restrack::kinds::socket);  // marker: keep_listener
}

void fill_cache() {
  restrack::TrackedFd entry(open_null(23));  // marker: fill_cache
}  // marker: cache destroyed

void use_after_close() {
  Widget widget("used-after-close");  // marker: use_after_close opens
  widget.close();                     // marker: use_after_close closes
  widget.use();                       // marker: use_after_close uses
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* word = argv[i];
    if (std::strcmp(word, "unclosed") == 0) {
      handle_request(serve_connection);  // marker: main request
    } else if (std::strcmp(word, "twice") == 0) {
      close_twice();  // marker: main twice
    } else if (std::strcmp(word, "open") == 0) {
      keep_listener();  // marker: main open
    } else if (std::strcmp(word, "cache") == 0) {
      fill_cache();  // marker: main cache
    } else if (std::strcmp(word, "after-close") == 0) {
      use_after_close();  // marker: main after-close
    }
  }
  return 0;
}
