// restrack/proactor/call_site.h — CallSite, the source location a callback is named by.
//
// Functions that schedule callbacks take a trailing `CallSite where = CallSite::current()`
// argument, so debug-mode logs and the loop's exception handler can say where a slow or
// failing callback was scheduled ("src/server.cc:42"). It plays the part of
// std::source_location, built from the __builtin_FILE/__builtin_LINE intrinsics that GCC
// and Clang both evaluate at the call site — Clang 14's tools cannot parse libstdc++ 12's
// std::source_location.
//
// Where no default argument can reach the user's line (`co_await task` calls an operator
// the compiler inserts), the site is a return address inside the user's code instead,
// symbolized only when something is logged.
#pragma once

#include <cstdint>
#include <string>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN

struct CallSite {
  const char* file = "";
  unsigned line = 0;
  // Set instead of file/line by from_return_address().
  std::uintptr_t return_address = 0;

  // The location of the call this default argument belongs to.
  static constexpr CallSite current(const char* file = __builtin_FILE(),
                                    unsigned line = __builtin_LINE()) noexcept {
    return CallSite{file, line, 0};
  }

  // The call that `return_address` (from __builtin_return_address) returns to.
  static CallSite from_return_address(const void* return_address) noexcept {
    return CallSite{"", 0, reinterpret_cast<std::uintptr_t>(return_address)};
  }

  // "src/server.cc:42"; for a return address, the first frame of the user's code there
  // (symbolized now); "<unknown>" when nothing is known.
  std::string to_string() const;
};

RESTRACK_NAMESPACE_END
