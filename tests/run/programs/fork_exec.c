/* Forks and executes itself; each process leaks a descriptor of its own, and the
   descriptors a process inherits are not its leaks. Run under restrack-run by tests/run.
     fork_exec            parent: opens A (inherited by both children), forks a child that
                          opens and leaks B then exits, execs itself as "exec-child", and
                          leaks A and C
     fork_exec exec-child leaks D; A, inherited across exec, is not blamed on it */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int open_shared(void) { return open("/dev/null", O_RDONLY); }
static int open_in_fork_child(void) { return open("/dev/zero", O_RDONLY); }
static int open_in_parent(void) { return open("/etc/hostname", O_RDONLY); }
static int open_in_exec_child(void) { return open("/dev/urandom", O_RDONLY); }

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
    printf("exec child leaks fd %d\n", open_in_exec_child());
    return 0;
  }
  int shared = open_shared();
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    printf("fork child leaks fd %d\n", open_in_fork_child());
    exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  printf("parent leaks fds %d and %d\n", shared, open_in_parent());
  fflush(stdout);
  pid_t exec_child = fork();
  if (exec_child == 0) {
    execl(argv[0], argv[0], "exec-child", (char*)NULL);
    _exit(127);
  }
  waitpid(exec_child, &status, 0);
  return 0;
}
