/* Leaks one descriptor of each kind restrack-run names, each from a function of its own,
   or with "none" closes everything it opens. Run under restrack-run by tests/run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

static int leak_file(void) { return open("/dev/null", O_RDONLY); }
static int leak_socket(void) { return socket(AF_INET, SOCK_STREAM, 0); }
static int leak_pipe(void) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  close(fds[1]);
  return fds[0];
}
static int leak_epoll(void) { return epoll_create1(EPOLL_CLOEXEC); }
static int leak_eventfd(void) { return eventfd(0, 0); }
static int leak_timerfd(void) { return timerfd_create(CLOCK_MONOTONIC, 0); }
static int leak_signalfd(void) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  return signalfd(-1, &mask, 0);
}
static int leak_memfd(void) { return memfd_create("restrack-run-test", 0); }
static int leak_inotify(void) { return inotify_init1(0); }
static FILE* stream;
static DIR* directory;
static int leak_stream(void) {
  stream = fopen("/dev/null", "r");
  return stream != NULL ? fileno(stream) : -1;
}
static int leak_directory(void) {
  directory = opendir("/");
  return directory != NULL ? dirfd(directory) : -1;
}
static int leak_duplicate(int fd) { return dup(fd); }
/* A connection accepted from a listening socket on the loopback interface. */
static int leak_accepted(void) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr*)&address, &length) != 0) {
    return -1;
  }
  int client = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(client, (struct sockaddr*)&address, sizeof address) != 0) return -1;
  int accepted = accept(listener, NULL, NULL);
  close(client);
  close(listener);
  return accepted;
}

int main(int argc, char** argv) {
  int fds[13];
  int n = 0;
  fds[n++] = leak_file();
  fds[n++] = leak_socket();
  fds[n++] = leak_pipe();
  fds[n++] = leak_epoll();
  fds[n++] = leak_eventfd();
  fds[n++] = leak_timerfd();
  fds[n++] = leak_signalfd();
  fds[n++] = leak_memfd();
  fds[n++] = leak_inotify();
  fds[n++] = leak_stream();
  fds[n++] = leak_directory();
  fds[n++] = leak_duplicate(fds[0]);
  fds[n++] = leak_accepted();
  for (int i = 0; i < n; ++i) {
    if (fds[i] < 0) {
      printf("open %d failed\n", i);
      return 1;
    }
  }
  if (argc > 1 && strcmp(argv[1], "none") == 0) {
    /* The stream and the directory are closed by their own calls. */
    for (int i = 0; i < n; ++i) {
      if (i != 9 && i != 10) close(fds[i]);
    }
    fclose(stream);
    closedir(directory);
  }
  printf("opened %d\n", n);
  return 0;
}
