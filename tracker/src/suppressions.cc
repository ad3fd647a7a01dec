#include <re2/re2.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>

#include "key_value.h"
#include "logging.h"
#include "no_destructor.h"
#include "own_descriptors.h"
#include "restrack/suppressions.h"
#include "settings.h"
#include "suppressions_internal.h"
#include "symbolize.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

struct Rules {
  std::mutex mutex;
  std::uint64_t generation = 0;  // of the settings the rules were loaded for
  std::vector<std::string> kinds;
  std::vector<std::unique_ptr<RE2>> sites;
};

Rules& rules() noexcept {
  static NoDestructor<Rules> instance;
  return *instance;
}

// Why `path` cannot be read as a suppressions file, or "" if it can be opened.
std::string unreadable_reason(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::strerror(errno);
  if (S_ISDIR(info.st_mode)) return "it is a directory";
  return {};
}

void install(Rules& current, std::uint64_t generation, std::vector<std::string> kinds,
             std::vector<std::unique_ptr<RE2>> sites) {
  current.generation = generation;
  current.kinds = std::move(kinds);
  current.sites = std::move(sites);
}

void load_locked(Rules& current, const std::string& path, std::uint64_t generation,
                 std::vector<std::string>* errors) noexcept {
  const OwnDescriptorScope own;  // the suppressions file
  std::vector<std::string> kinds;
  std::vector<std::unique_ptr<RE2>> sites;
  try {
    if (!path.empty()) {
      std::string reason = unreadable_reason(path);
      std::ifstream in;
      if (reason.empty()) {
        in.open(path);
        if (!in) reason = std::strerror(errno);
      }
      if (!reason.empty()) {
        errors->push_back("cannot read suppressions file " + quoted(path) + " (" + reason +
                          "); continuing without suppressions");
      }
      RE2::Options options;
      options.set_log_errors(false);
      std::string line;
      for (int number = 1; in && std::getline(in, line); ++number) {
        std::string_view rule = trim(line);
        if (rule.empty() || rule.front() == '#') continue;
        const std::string where = path + ":" + std::to_string(number) + ": ";
        if (rule.starts_with("kind:")) {
          kinds.emplace_back(trim(rule.substr(5)));
        } else if (rule.starts_with("site:")) {
          rule.remove_prefix(5);
          auto pattern = std::make_unique<RE2>(re2::StringPiece(rule.data(), rule.size()), options);
          if (pattern->ok()) {
            sites.push_back(std::move(pattern));
          } else {
            errors->push_back(where + "bad regular expression " + quoted(rule) + " (" +
                              pattern->error() + "); rule skipped");
          }
        } else {
          errors->push_back(where + "expected 'kind:NAME' or 'site:REGEX', got " + quoted(rule) +
                            "; rule skipped");
        }
      }
    }
  } catch (...) {
    errors->push_back("out of memory reading suppressions file " + quoted(path));
  }
  install(current, generation, std::move(kinds), std::move(sites));
}

}  // namespace

void load_suppressions(const std::string& path, std::uint64_t generation,
                       std::vector<std::string>* errors) noexcept {
  Rules& current = rules();
  std::lock_guard lock(current.mutex);
  load_locked(current, path, generation, errors);
}

bool is_suppressed(const Diagnostic& diagnostic) noexcept {
  Rules& current = rules();
  std::lock_guard lock(current.mutex);
  const std::uint64_t generation = settings_generation();
  if (current.generation != generation) {
    // Settings installed without set_options() (RESTRACK_OPTIONS at start): load now.
    std::vector<std::string> errors;
    load_locked(current, settings().suppressions, generation, &errors);
    for (const std::string& error : errors) log_error(error);
  }
  if (current.kinds.empty() && current.sites.empty()) return false;
  try {
    for (const std::string& kind : current.kinds) {
      if (kind == diagnostic.kind) return true;
    }
    if (current.sites.empty() || diagnostic.allocation_trace == kNoTrace) return false;
    for (const Frame& frame : symbolize_trace(diagnostic.allocation_trace)) {
      const std::string text =
          frame.function + " at " + frame.file + ":" + std::to_string(frame.line);
      for (const std::unique_ptr<RE2>& site : current.sites) {
        if (RE2::PartialMatch(text, *site)) return true;
      }
    }
  } catch (...) {
    // Out of memory: suppress nothing, report rather than lose.
  }
  return false;
}

void lock_suppressions_for_fork() noexcept { rules().mutex.lock(); }
void unlock_suppressions_after_fork() noexcept { rules().mutex.unlock(); }

}  // namespace internal

bool is_suppressed(std::string_view kind, TraceId allocation_trace) noexcept {
  Diagnostic diagnostic;
  diagnostic.kind = kind;
  diagnostic.allocation_trace = allocation_trace;
  return internal::is_suppressed(diagnostic);
}

RESTRACK_NAMESPACE_END
