// A program the reliability tests run as a child process; argv[1] picks what it does.
//   late            a static object destroyed after the exit report leaks a handle: the
//                   report file is patched in place (the same file before and after)
//   atexit-first    an exit handler registered before restrack's, and exit_code forcing
//                   the exit status (whether the handler runs differs by platform)
//   handler-exit    a diagnostic handler calls exit()
//   handler-nested  a handler closes a handle twice and leaks another while it runs
//   static-init     a handle opened by a file-scope initializer is still open at exit
// The modes about POSIX itself are in reliability_posix_probe.cc.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "restrack/tracker.h"
#include "test_object.h"

namespace {

restrack::TrackedFd open_object() { return restrack::TrackedFd(restrack_test::open_test_object()); }

void leak_one() { restrack::TrackedFd leaked = open_object(); }

// "<when> file F" on stdout, F naming the file RESTRACK_PROBE_REPORT names (its device
// and inode, or volume and file index).
void print_report_file(const char* when) {
  const char* path = std::getenv("RESTRACK_PROBE_REPORT");
  if (path != nullptr) {
    std::printf("%s file %s\n", when, restrack_test::identity_of_file(path).c_str());
    std::fflush(stdout);
  }
}

// Exit handlers registered before restrack's exit report (priority 100 runs before
// restrack's 101; reserved priorities, used on purpose to act like a system library).
bool late_leak = false;
void leak_after_the_exit_report() {
  if (!late_leak) return;
  print_report_file("before");
  leak_one();
  print_report_file("after");
}
void early_exit_handler() { std::printf("early exit handler ran\n"); }

#pragma GCC diagnostic push
#ifndef __clang__  // GCC's warning: priorities up to 100 are reserved for the implementation
#pragma GCC diagnostic ignored "-Wprio-ctor-dtor"
#endif
__attribute__((constructor(100))) void register_early_exit_handlers() {
  std::atexit(leak_after_the_exit_report);
  if (std::getenv("RESTRACK_PROBE_ATEXIT") != nullptr) std::atexit(early_exit_handler);
}
#pragma GCC diagnostic pop

class ExitingHandler final : public restrack::DiagnosticHandler {
 public:
  void on_diagnostic(const restrack::Diagnostic&) noexcept override {
    std::printf("handler calls exit\n");
    std::fflush(stdout);
    std::exit(7);
  }
};

// Misbehaves while it runs: closes a handle twice and leaks another.
class NestingHandler final : public restrack::DiagnosticHandler {
 public:
  void on_diagnostic(const restrack::Diagnostic& diagnostic) noexcept override {
    std::printf("handler sees %s\n", std::string(restrack::to_string(diagnostic.type)).c_str());
    if (nested_) return;
    nested_ = true;
    restrack::TrackedFd twice = open_object();
    twice.close();
    twice.close();
    leak_one();
    std::printf("handler returns\n");
  }

 private:
  bool nested_ = false;
};

// A file-scope object whose initializer opens a handle that stays open.
restrack::TrackedFd* opened_at_start = new restrack::TrackedFd(restrack_test::open_test_object());

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "late") {
    late_leak = true;
    leak_one();
  } else if (mode == "atexit-first") {
    leak_one();
  } else if (mode == "handler-exit") {
    static ExitingHandler handler;
    restrack::add_handler(&handler);
    leak_one();
    std::printf("not reached\n");
  } else if (mode == "handler-nested") {
    static NestingHandler handler;
    restrack::add_handler(&handler);
    leak_one();
    std::printf("dropped %llu\n",
                static_cast<unsigned long long>(restrack::diagnostic_counts().dropped));
  } else if (mode == "static-init") {
    static_cast<void>(opened_at_start);
  } else {
    std::fprintf(stderr, "usage: reliability_probe MODE (see the source)\n");
    return 2;
  }
  std::printf("main returns\n");
  return 0;
}
