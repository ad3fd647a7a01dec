/* Failing calls under restrack-run return what they return without it, errno included.
   Prints one line per check that differs, then "checked N". Run by tests/run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

static void expect(const char* what, long result, long wanted, int error, int wanted_error) {
  ++checks;
  if (result != wanted || error != wanted_error) {
    ++failures;
    printf("%s returned %ld errno %d, expected %ld errno %d\n", what, result, error, wanted,
           wanted_error);
  }
}

int main(void) {
  long r;
  errno = 0;
  r = open("/no/such/file", O_RDONLY);
  expect("open", r, -1, errno, ENOENT);
  errno = 0;
  r = close(-1);
  expect("close(-1)", r, -1, errno, EBADF);
  errno = 0;
  r = dup(-5);
  expect("dup", r, -1, errno, EBADF);
  errno = 0;
  r = dup2(-5, 40);
  expect("dup2", r, -1, errno, EBADF);
  errno = 0;
  r = socket(-1, SOCK_STREAM, 0);
  expect("socket", r, -1, errno, EAFNOSUPPORT);
  errno = 0;
  r = fopen("/no/such/file", "r") == NULL ? -1 : 0;
  expect("fopen", r, -1, errno, ENOENT);
  errno = 0;
  r = opendir("/no/such/dir") == NULL ? -1 : 0;
  expect("opendir", r, -1, errno, ENOENT);
  errno = 0;
  r = fcntl(-1, F_DUPFD, 0);
  expect("fcntl", r, -1, errno, EBADF);
  /* A successful call leaves errno alone, even though restrack-run works inside it. */
  errno = 1234;
  int fd = open("/dev/null", O_RDONLY);
  expect("open keeps errno", fd >= 0 ? 0 : -1, 0, errno, 1234);
  errno = 1234;
  r = close(fd);
  expect("close keeps errno", r, 0, errno, 1234);
  printf("checked %d, %d differ\n", checks, failures);
  return failures != 0;
}
