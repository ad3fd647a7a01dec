/* The workload of tools/bench/restrack_run_vs_valgrind.sh: creates and closes
   descriptors of the common kinds N times (argv[1], default 20000), each from a few
   frames deep, then leaks one of each kind — what restrack-run and Valgrind's
   --track-fds=yes must both find. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_file(void) { return open("/dev/null", O_RDONLY); }
static FILE* open_stream(void) { return fopen("/dev/null", "r"); }
static int open_socket(void) { return socket(AF_UNIX, SOCK_STREAM, 0); }
static int open_pipe(int fds[2]) { return pipe(fds); }
static DIR* open_directory(void) { return opendir("/"); }

static void one_round(void) {
  int fds[2];
  close(open_file());
  fclose(open_stream());
  close(open_socket());
  if (open_pipe(fds) == 0) {
    close(fds[0]);
    close(fds[1]);
  }
  closedir(open_directory());
}

static void work(int rounds) {
  for (int i = 0; i < rounds; ++i) one_round();
}

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 20000;
  work(rounds);
  int fds[2];
  int leaked = 0;
  leaked += open_file() >= 0;
  leaked += open_stream() != NULL;
  leaked += open_socket() >= 0;
  leaked += open_pipe(fds) == 0 ? 2 : 0;
  leaked += open_directory() != NULL;
  printf("%d rounds, %d descriptors leaked\n", rounds, leaked);
  return 0;
}
