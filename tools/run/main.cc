// restrack-run: runs a program with every descriptor it creates through the C library
// tracked by restrack, with no rebuild (docs/restrack-run.md).
//
//   restrack-run [options] -- PROGRAM [ARGS...]
//
// It checks what it can tell about PROGRAM (statically linked, set-user-ID: nothing could
// be interposed), puts the tracker options together, preloads librestrack-run.so, and
// replaces itself with PROGRAM: the exit status is the program's own.
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "restrack/options.h"

namespace {

// Like env(1) and timeout(1): 125 when restrack-run itself fails, 126 when PROGRAM cannot
// be run, 127 when it is not found.
constexpr int kOwnFailure = 125;
constexpr int kCannotRun = 126;
constexpr int kNotFound = 127;

constexpr std::string_view kUsage =
    "usage: restrack-run [options] -- PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM with every descriptor it creates through the C library tracked by\n"
    "restrack: descriptors still open at exit, closes of descriptors that are not open, and\n"
    "closes behind a restrack owner's back are reported with their traces. Children it\n"
    "forks or executes are tracked too, each process on its own.\n"
    "\n"
    "options (each sets the RESTRACK_OPTIONS key of the same name; they win over the\n"
    "environment's RESTRACK_OPTIONS, which wins over restrack-run's defaults):\n"
    "  --capture=fp|dwarf     how traces are captured (default: dwarf)\n"
    "  --trace-depth=N        frames per trace, 0 = none (default: 16)\n"
    "  --action=ACTION        ignore, warn (default), once, error, abort\n"
    "  --report=PATH          JSON report written by each process at exit (%p = its pid)\n"
    "  --exit-code=N          exit status forced when an error was counted (action=error)\n"
    "  --suppressions=PATH    suppressions file (kind:NAME, site:REGEX)\n"
    "  --no-leaks-at-exit     do not report descriptors still open at exit\n"
    "  -o KEY=VALUE           any other RESTRACK_OPTIONS key\n"
    "  --library=PATH         the preload library (default: librestrack-run.so installed\n"
    "                         with restrack-run)\n"
    "  -h, --help             this text\n";

void say(const std::string& message) {
  std::fprintf(stderr, "restrack-run: %s\n", message.c_str());
}

bool is_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The library beside this program (a build tree), or in ../lib/ and its multiarch
// directories (an install).
std::string find_library() {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  const std::string directory = directory_of(std::string(self, static_cast<std::size_t>(n)));
  for (const std::string& candidate :
       {directory + "/" RESTRACK_RUN_LIBRARY, directory + "/../lib/" RESTRACK_RUN_LIBRARY,
        directory + "/../lib64/" RESTRACK_RUN_LIBRARY,
        directory + "/../lib/x86_64-linux-gnu/" RESTRACK_RUN_LIBRARY,
        directory + "/../lib/aarch64-linux-gnu/" RESTRACK_RUN_LIBRARY}) {
    if (!is_file(candidate)) continue;
    std::string found = candidate;
    char real[PATH_MAX];
    if (::realpath(candidate.c_str(), real) != nullptr) found = real;
    return found;
  }
  return {};
}

// PROGRAM as execvp would find it; empty if it would not.
std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view directories = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const std::size_t colon = directories.find(':');
    std::string directory(directories.substr(0, colon));
    if (directory.empty()) directory = ".";
    std::string candidate = directory + "/" + program;
    if (is_file(candidate) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return {};
    directories.remove_prefix(colon + 1);
  }
}

// What restrack-run can tell from the file: a statically linked ELF program has no
// dynamic loader (no PT_INTERP), so nothing is preloaded into it; a set-user-ID or
// set-group-ID one runs with the loader ignoring LD_PRELOAD. Empty if neither.
std::string why_nothing_would_be_tracked(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return {};
  if ((info.st_mode & (S_ISUID | S_ISGID)) != 0 && ::geteuid() != info.st_uid) {
    return "it runs set-user-ID or set-group-ID, and the dynamic loader ignores LD_PRELOAD "
           "for such programs";
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  Elf64_Ehdr header{};
  std::string reason;
  if (::pread(fd, &header, sizeof header, 0) == static_cast<ssize_t>(sizeof header) &&
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 && header.e_ident[EI_CLASS] == ELFCLASS64 &&
      (header.e_type == ET_EXEC || header.e_type == ET_DYN)) {
    bool interpreter = false;
    for (int i = 0; i < header.e_phnum; ++i) {
      Elf64_Phdr segment{};
      const off_t at =
          static_cast<off_t>(header.e_phoff) + static_cast<off_t>(i) * header.e_phentsize;
      if (::pread(fd, &segment, sizeof segment, at) != static_cast<ssize_t>(sizeof segment)) break;
      interpreter = interpreter || segment.p_type == PT_INTERP;
    }
    if (!interpreter) {
      reason =
          "it is statically linked: the C library is part of it, so its calls cannot be "
          "interposed";
    }
  }
  ::close(fd);
  return reason;
}

struct Command {
  std::string options;  // RESTRACK_OPTIONS items from the command line
  std::string library;
  std::vector<char*> program;  // PROGRAM ARGS..., null-terminated
};

void add(std::string& options, std::string_view item) {
  if (!options.empty()) options += ':';
  options += item;
}

// Parses the command line; returns -1 to go on, or an exit status.
int parse(int argc, char** argv, Command& command) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == "--") {
      ++i;
      break;
    }
    if (argument == "-h" || argument == "--help") {
      std::fputs(kUsage.data(), stdout);
      return 0;
    }
    if (argument == "--no-leaks-at-exit") {
      add(command.options, "report_at_exit=0");
    } else if (argument == "-o") {
      if (i + 1 >= argc) {
        say("-o needs KEY=VALUE");
        return kOwnFailure;
      }
      add(command.options, argv[++i]);
    } else if (argument.starts_with("--library=")) {
      command.library = argument.substr(10);
    } else if (argument.starts_with("--") && argument.find('=') != std::string_view::npos) {
      // --trace-depth=8 -> trace_depth=8; the tracker's parser judges key and value.
      std::string item(argument.substr(2));
      for (char& c : item) {
        if (c == '=') break;
        if (c == '-') c = '_';
      }
      add(command.options, item);
    } else if (!argument.starts_with("-")) {
      break;  // PROGRAM without "--"
    } else {
      say("unknown option '" + std::string(argument) + "'\n" + std::string(kUsage));
      return kOwnFailure;
    }
  }
  if (i >= argc) {
    say("no program to run\n" + std::string(kUsage));
    return kOwnFailure;
  }
  for (; i < argc; ++i) command.program.push_back(argv[i]);
  command.program.push_back(nullptr);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  Command command;
  if (const int status = parse(argc, argv, command); status >= 0) return status;

  // restrack-run's defaults, then the environment's settings, then the command line's.
  std::string options = "capture=dwarf:report_at_exit=1";
  if (const char* environment = std::getenv("RESTRACK_OPTIONS")) add(options, environment);
  add(options, command.options);
  std::vector<std::string> errors;
  static_cast<void>(restrack::parse_options(options, restrack::Options{}, &errors));
  for (const std::string& error : errors) say("RESTRACK_OPTIONS: " + error);
  if (!errors.empty()) return kOwnFailure;

  if (command.library.empty()) command.library = find_library();
  if (command.library.empty() || !is_file(command.library)) {
    say(std::string("cannot find the preload library ") + RESTRACK_RUN_LIBRARY +
        (command.library.empty() ? std::string() : " at '" + command.library + "'") +
        "; give it with --library=PATH");
    return kOwnFailure;
  }

  const std::string program = command.program.front();
  const std::string resolved = resolve_program(program);
  if (resolved.empty()) {
    say("cannot run '" + program + "' (" + std::strerror(ENOENT) + ")");
    return kNotFound;
  }
  if (const std::string reason = why_nothing_would_be_tracked(resolved); !reason.empty()) {
    say("'" + program + "' is run untracked: " + reason + ".");
  }

  std::string preload = command.library;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0') {
    preload += ':';
    preload += existing;
  }
  ::setenv("LD_PRELOAD", preload.c_str(), 1);
  ::setenv("RESTRACK_OPTIONS", options.c_str(), 1);
  ::execv(resolved.c_str(), command.program.data());
  const int error = errno;
  say("cannot run '" + program + "' (" + std::strerror(error) + ")");
  return error == ENOENT ? kNotFound : kCannotRun;
}
