/* Closes a descriptor twice: the classic bug that, with another thread opening in
   between, closes someone else's descriptor. Run under restrack-run by tests/run. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void close_log(int fd) { close(fd); }

int main(void) {
  int fd = open("/dev/null", O_WRONLY);
  close_log(fd);
  int result = close(fd);
  printf("second close returned %d\n", result);
  return 0;
}
