// The C library's descriptor calls, interposed (LD_PRELOAD). Each calls the real
// function (the next definition, next_symbol.h), returns exactly what it returned with
// errno as it left it, and tells descriptors.h what happened — only when tracking() says
// this call is to be tracked, so a call from inside the tracker or restrack-run itself
// goes straight through. Each interposer is one frame between the caller and
// descriptors.h, which the traces skip.
//
// Declarations come from the C library's own headers; a definition here must agree with
// them, exception specification (glibc's __THROW) included.
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>

#include "descriptors.h"
#include "next_symbol.h"

namespace run = restrack::run;
namespace kinds = restrack::run::kinds;
using run::NextSymbol;

// The helpers are forced inline: each interposer stays the only frame between the
// caller and descriptors.h, whatever the optimization level.
#define RESTRACK_RUN_INLINE [[gnu::always_inline]] inline

namespace {

// open(2)'s mode argument exists only with O_CREAT or O_TMPFILE.
RESTRACK_RUN_INLINE bool takes_mode(int flags) noexcept {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

RESTRACK_RUN_INLINE int track(int fd, const restrack::Kind& kind) noexcept {
  if (fd >= 0 && run::tracking()) run::opened(fd, kind);
  return fd;
}

RESTRACK_RUN_INLINE int track_pair(int result, const int fds[2],
                                   const restrack::Kind& kind) noexcept {
  if (result == 0 && run::tracking()) {
    run::opened(fds[0], kind);
    run::opened(fds[1], kind);
  }
  return result;
}

RESTRACK_RUN_INLINE int track_dup(int fd, int from) noexcept {
  if (fd >= 0 && run::tracking()) run::duplicated(fd, from);
  return fd;
}

// dup2/dup3 onto an open descriptor closes it first: for restrack-run, a close (owners
// are told) and then a duplicate.
template <class Real>
RESTRACK_RUN_INLINE int dup_onto(int from, int to, Real&& real) {
  if (!run::tracking() || from == to) return real();
  run::PendingClose pending;
  run::before_close(to, pending);
  const int result = real();
  const int error = errno;
  if (result >= 0) {
    run::after_close(pending, false);
    run::duplicated(result, from);
  }
  errno = error;
  return result;
}

RESTRACK_RUN_INLINE FILE* track_stream(FILE* stream, const restrack::Kind& kind) noexcept {
  if (stream != nullptr && run::tracking()) {
    const int error = errno;
    const int fd = ::fileno(stream);
    errno = error;
    if (fd >= 0) run::opened(fd, kind);
  }
  return stream;
}

}  // namespace

// Real definitions, resolved on first use.
namespace {
NextSymbol<int (*)(const char*, int, ...)> real_open("open");
NextSymbol<int (*)(const char*, int, ...)> real_open64("open64");
NextSymbol<int (*)(int, const char*, int, ...)> real_openat("openat");
NextSymbol<int (*)(int, const char*, int, ...)> real_openat64("openat64");
NextSymbol<int (*)(const char*, int)> real_open_2("__open_2");
NextSymbol<int (*)(const char*, int)> real_open64_2("__open64_2");
NextSymbol<int (*)(int, const char*, int)> real_openat_2("__openat_2");
NextSymbol<int (*)(int, const char*, int)> real_openat64_2("__openat64_2");
NextSymbol<int (*)(const char*, mode_t)> real_creat("creat");
NextSymbol<int (*)(const char*, mode_t)> real_creat64("creat64");
NextSymbol<int (*)(int, int, int)> real_socket("socket");
NextSymbol<int (*)(int, int, int, int*)> real_socketpair("socketpair");
NextSymbol<int (*)(int, sockaddr*, socklen_t*)> real_accept("accept");
NextSymbol<int (*)(int, sockaddr*, socklen_t*, int)> real_accept4("accept4");
NextSymbol<int (*)(int*)> real_pipe("pipe");
NextSymbol<int (*)(int*, int)> real_pipe2("pipe2");
NextSymbol<int (*)(int)> real_dup("dup");
NextSymbol<int (*)(int, int)> real_dup2("dup2");
NextSymbol<int (*)(int, int, int)> real_dup3("dup3");
NextSymbol<int (*)(int, int, ...)> real_fcntl("fcntl");
NextSymbol<int (*)(int, int, ...)> real_fcntl64("fcntl64");
NextSymbol<int (*)(int)> real_epoll_create("epoll_create");
NextSymbol<int (*)(int)> real_epoll_create1("epoll_create1");
NextSymbol<int (*)(unsigned int, int)> real_eventfd("eventfd");
NextSymbol<int (*)(int, int)> real_timerfd_create("timerfd_create");
NextSymbol<int (*)(int, const sigset_t*, int)> real_signalfd("signalfd");
NextSymbol<int (*)(const char*, unsigned int)> real_memfd_create("memfd_create");
NextSymbol<int (*)()> real_inotify_init("inotify_init");
NextSymbol<int (*)(int)> real_inotify_init1("inotify_init1");
NextSymbol<int (*)(char*)> real_mkstemp("mkstemp");
NextSymbol<int (*)(char*)> real_mkstemp64("mkstemp64");
NextSymbol<int (*)(char*, int)> real_mkostemp("mkostemp");
NextSymbol<int (*)(char*, int)> real_mkostemp64("mkostemp64");
NextSymbol<int (*)(char*, int)> real_mkstemps("mkstemps");
NextSymbol<int (*)(char*, int, int)> real_mkostemps("mkostemps");
NextSymbol<FILE* (*)(const char*, const char*)> real_fopen("fopen");
NextSymbol<FILE* (*)(const char*, const char*)> real_fopen64("fopen64");
NextSymbol<FILE* (*)(int, const char*)> real_fdopen("fdopen");
NextSymbol<FILE* (*)(const char*, const char*, FILE*)> real_freopen("freopen");
NextSymbol<FILE* (*)(const char*, const char*, FILE*)> real_freopen64("freopen64");
NextSymbol<FILE* (*)()> real_tmpfile("tmpfile");
NextSymbol<FILE* (*)()> real_tmpfile64("tmpfile64");
NextSymbol<FILE* (*)(const char*, const char*)> real_popen("popen");
NextSymbol<int (*)(FILE*)> real_fclose("fclose");
NextSymbol<int (*)(FILE*)> real_pclose("pclose");
NextSymbol<DIR* (*)(const char*)> real_opendir("opendir");
NextSymbol<DIR* (*)(int)> real_fdopendir("fdopendir");
NextSymbol<int (*)(DIR*)> real_closedir("closedir");
NextSymbol<int (*)(int)> real_close("close");
NextSymbol<int (*)(unsigned int, unsigned int, int)> real_close_range("close_range");
NextSymbol<void (*)(int)> real_closefrom("closefrom");

int missing() noexcept {
  errno = ENOSYS;
  return -1;
}
}  // namespace

#define RESTRACK_RUN_CALL(real, ...) \
  ((real).get() != nullptr ? (real).get()(__VA_ARGS__) : missing())

// Exported (the library is built with hidden visibility; exports.map lists these).
#pragma GCC visibility push(default)
extern "C" {

// ---- Files -----------------------------------------------------------------------------

int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (takes_mode(flags)) {
    va_list arguments;
    va_start(arguments, flags);
    mode = va_arg(arguments, mode_t);
    va_end(arguments);
  }
  return track(RESTRACK_RUN_CALL(real_open, path, flags, mode), kinds::file);
}

int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (takes_mode(flags)) {
    va_list arguments;
    va_start(arguments, flags);
    mode = va_arg(arguments, mode_t);
    va_end(arguments);
  }
  return track(RESTRACK_RUN_CALL(real_open64, path, flags, mode), kinds::file);
}

int openat(int directory, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (takes_mode(flags)) {
    va_list arguments;
    va_start(arguments, flags);
    mode = va_arg(arguments, mode_t);
    va_end(arguments);
  }
  return track(RESTRACK_RUN_CALL(real_openat, directory, path, flags, mode), kinds::file);
}

int openat64(int directory, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (takes_mode(flags)) {
    va_list arguments;
    va_start(arguments, flags);
    mode = va_arg(arguments, mode_t);
    va_end(arguments);
  }
  return track(RESTRACK_RUN_CALL(real_openat64, directory, path, flags, mode), kinds::file);
}

// _FORTIFY_SOURCE's checked forms, which programs built with it call instead.
int __open_2(const char* path, int flags) {
  return track(RESTRACK_RUN_CALL(real_open_2, path, flags), kinds::file);
}
int __open64_2(const char* path, int flags) {
  return track(RESTRACK_RUN_CALL(real_open64_2, path, flags), kinds::file);
}
int __openat_2(int directory, const char* path, int flags) {
  return track(RESTRACK_RUN_CALL(real_openat_2, directory, path, flags), kinds::file);
}
int __openat64_2(int directory, const char* path, int flags) {
  return track(RESTRACK_RUN_CALL(real_openat64_2, directory, path, flags), kinds::file);
}

int creat(const char* path, mode_t mode) {
  return track(RESTRACK_RUN_CALL(real_creat, path, mode), kinds::file);
}
int creat64(const char* path, mode_t mode) {
  return track(RESTRACK_RUN_CALL(real_creat64, path, mode), kinds::file);
}

int mkstemp(char* pattern) { return track(RESTRACK_RUN_CALL(real_mkstemp, pattern), kinds::file); }
int mkstemp64(char* pattern) {
  return track(RESTRACK_RUN_CALL(real_mkstemp64, pattern), kinds::file);
}
int mkostemp(char* pattern, int flags) {
  return track(RESTRACK_RUN_CALL(real_mkostemp, pattern, flags), kinds::file);
}
int mkostemp64(char* pattern, int flags) {
  return track(RESTRACK_RUN_CALL(real_mkostemp64, pattern, flags), kinds::file);
}
int mkstemps(char* pattern, int suffix_length) {
  return track(RESTRACK_RUN_CALL(real_mkstemps, pattern, suffix_length), kinds::file);
}
int mkostemps(char* pattern, int suffix_length, int flags) {
  return track(RESTRACK_RUN_CALL(real_mkostemps, pattern, suffix_length, flags), kinds::file);
}

// ---- Sockets and pipes -------------------------------------------------------------------

int socket(int domain, int type, int protocol) noexcept {
  return track(RESTRACK_RUN_CALL(real_socket, domain, type, protocol), kinds::socket);
}

int socketpair(int domain, int type, int protocol, int fds[2]) noexcept {
  return track_pair(RESTRACK_RUN_CALL(real_socketpair, domain, type, protocol, fds), fds,
                    kinds::socket);
}

int accept(int fd, sockaddr* __restrict address, socklen_t* __restrict length) {
  return track(RESTRACK_RUN_CALL(real_accept, fd, address, length), kinds::socket);
}

int accept4(int fd, sockaddr* __restrict address, socklen_t* __restrict length, int flags) {
  return track(RESTRACK_RUN_CALL(real_accept4, fd, address, length, flags), kinds::socket);
}

int pipe(int fds[2]) noexcept {
  return track_pair(RESTRACK_RUN_CALL(real_pipe, fds), fds, kinds::pipe);
}

int pipe2(int fds[2], int flags) noexcept {
  return track_pair(RESTRACK_RUN_CALL(real_pipe2, fds, flags), fds, kinds::pipe);
}

// ---- Duplicates --------------------------------------------------------------------------

int dup(int fd) noexcept { return track_dup(RESTRACK_RUN_CALL(real_dup, fd), fd); }

int dup2(int from, int to) noexcept {
  return dup_onto(from, to, [&] { return RESTRACK_RUN_CALL(real_dup2, from, to); });
}

int dup3(int from, int to, int flags) noexcept {
  return dup_onto(from, to, [&] { return RESTRACK_RUN_CALL(real_dup3, from, to, flags); });
}

// The third argument is read whatever the command: the ABI passes it in a register (or
// not at all, when the real call ignores it too). Only F_DUPFD* creates a descriptor.
int fcntl(int fd, int command, ...) {
  va_list arguments;
  va_start(arguments, command);
  void* argument = va_arg(arguments, void*);
  va_end(arguments);
  const int result = RESTRACK_RUN_CALL(real_fcntl, fd, command, argument);
  if (command == F_DUPFD || command == F_DUPFD_CLOEXEC) return track_dup(result, fd);
  return result;
}

int fcntl64(int fd, int command, ...) {
  va_list arguments;
  va_start(arguments, command);
  void* argument = va_arg(arguments, void*);
  va_end(arguments);
  const int result = RESTRACK_RUN_CALL(real_fcntl64, fd, command, argument);
  if (command == F_DUPFD || command == F_DUPFD_CLOEXEC) return track_dup(result, fd);
  return result;
}

// ---- Event, timer, signal, memory and notification descriptors ------------------------

int epoll_create(int size) noexcept {
  return track(RESTRACK_RUN_CALL(real_epoll_create, size), kinds::epoll);
}
int epoll_create1(int flags) noexcept {
  return track(RESTRACK_RUN_CALL(real_epoll_create1, flags), kinds::epoll);
}
int eventfd(unsigned int count, int flags) noexcept {
  return track(RESTRACK_RUN_CALL(real_eventfd, count, flags), kinds::eventfd);
}
int timerfd_create(int clock, int flags) noexcept {
  return track(RESTRACK_RUN_CALL(real_timerfd_create, clock, flags), kinds::timerfd);
}
// With fd == -1 it creates a descriptor; otherwise it changes the mask of `fd`.
int signalfd(int fd, const sigset_t* mask, int flags) noexcept {
  const int result = RESTRACK_RUN_CALL(real_signalfd, fd, mask, flags);
  return fd == -1 ? track(result, kinds::signalfd) : result;
}
int memfd_create(const char* name, unsigned int flags) noexcept {
  return track(RESTRACK_RUN_CALL(real_memfd_create, name, flags), kinds::memfd);
}
int inotify_init() noexcept { return track(RESTRACK_RUN_CALL(real_inotify_init), kinds::inotify); }
int inotify_init1(int flags) noexcept {
  return track(RESTRACK_RUN_CALL(real_inotify_init1, flags), kinds::inotify);
}

// ---- Streams and directories -------------------------------------------------------------

FILE* fopen(const char* __restrict path, const char* __restrict mode) {
  return track_stream(real_fopen.get()(path, mode), kinds::stream);
}
FILE* fopen64(const char* __restrict path, const char* __restrict mode) {
  return track_stream(real_fopen64.get()(path, mode), kinds::stream);
}
FILE* tmpfile() { return track_stream(real_tmpfile.get()(), kinds::stream); }
FILE* tmpfile64() { return track_stream(real_tmpfile64.get()(), kinds::stream); }
FILE* popen(const char* command, const char* mode) {
  return track_stream(real_popen.get()(command, mode), kinds::stream);
}

FILE* fdopen(int fd, const char* mode) noexcept {
  FILE* stream = real_fdopen.get()(fd, mode);
  if (stream != nullptr && run::tracking()) run::converted(fd, kinds::stream);
  return stream;
}

// Closes the stream's descriptor and opens `path` (the same number, usually).
FILE* freopen(const char* __restrict path, const char* __restrict mode, FILE* __restrict stream) {
  if (!run::tracking()) return real_freopen.get()(path, mode, stream);
  const int old_fd = ::fileno(stream);
  run::PendingClose pending;
  run::before_close(old_fd, pending);
  FILE* result = real_freopen.get()(path, mode, stream);
  const int error = errno;
  run::after_close(pending, false);
  if (result != nullptr) {
    const int fd = ::fileno(result);
    if (fd >= 0) run::opened(fd, kinds::stream);
  }
  errno = error;
  return result;
}

FILE* freopen64(const char* __restrict path, const char* __restrict mode, FILE* __restrict stream) {
  if (!run::tracking()) return real_freopen64.get()(path, mode, stream);
  const int old_fd = ::fileno(stream);
  run::PendingClose pending;
  run::before_close(old_fd, pending);
  FILE* result = real_freopen64.get()(path, mode, stream);
  const int error = errno;
  run::after_close(pending, false);
  if (result != nullptr) {
    const int fd = ::fileno(result);
    if (fd >= 0) run::opened(fd, kinds::stream);
  }
  errno = error;
  return result;
}

int fclose(FILE* stream) {
  if (!run::tracking()) return real_fclose.get()(stream);
  const int fd = ::fileno(stream);
  if (fd < 0) return real_fclose.get()(stream);
  run::PendingClose pending;
  run::before_close(fd, pending);
  const int result = real_fclose.get()(stream);
  const int error = errno;
  run::after_close(pending, result == EOF && error == EBADF);
  errno = error;
  return result;
}

int pclose(FILE* stream) {
  if (!run::tracking()) return real_pclose.get()(stream);
  const int fd = ::fileno(stream);
  if (fd < 0) return real_pclose.get()(stream);
  run::PendingClose pending;
  run::before_close(fd, pending);
  const int result = real_pclose.get()(stream);
  const int error = errno;
  run::after_close(pending, false);
  errno = error;
  return result;
}

DIR* opendir(const char* path) {
  DIR* directory = real_opendir.get()(path);
  if (directory != nullptr && run::tracking()) {
    const int error = errno;
    const int fd = ::dirfd(directory);
    errno = error;
    if (fd >= 0) run::opened(fd, kinds::directory);
  }
  return directory;
}

DIR* fdopendir(int fd) {
  DIR* directory = real_fdopendir.get()(fd);
  if (directory != nullptr && run::tracking()) run::converted(fd, kinds::directory);
  return directory;
}

int closedir(DIR* directory) {
  if (!run::tracking()) return real_closedir.get()(directory);
  const int fd = ::dirfd(directory);
  if (fd < 0) return real_closedir.get()(directory);
  run::PendingClose pending;
  run::before_close(fd, pending);
  const int result = real_closedir.get()(directory);
  const int error = errno;
  run::after_close(pending, result != 0 && error == EBADF);
  errno = error;
  return result;
}

// ---- Closing -----------------------------------------------------------------------------

int close(int fd) {
  if (!run::tracking()) return RESTRACK_RUN_CALL(real_close, fd);
  run::PendingClose pending;
  run::before_close(fd, pending);
  const int result = RESTRACK_RUN_CALL(real_close, fd);
  const int error = errno;
  run::after_close(pending, result != 0 && error == EBADF);
  errno = error;
  return result;
}

// CLOSE_RANGE_CLOEXEC only marks the descriptors close-on-exec: nothing is closed.
int close_range(unsigned int first, unsigned int last, int flags) noexcept {
  if ((flags & CLOSE_RANGE_CLOEXEC) == 0 && run::tracking()) run::before_close_range(first, last);
  return RESTRACK_RUN_CALL(real_close_range, first, last, flags);
}

void closefrom(int lowest) noexcept {
  if (lowest >= 0 && run::tracking()) run::before_close_range(static_cast<unsigned>(lowest), ~0u);
  if (real_closefrom.get() != nullptr) real_closefrom.get()(lowest);
}

}  // extern "C"
#pragma GCC visibility pop
