// restrack/proactor/call_site.h — CallSite, the source location a callback is named by.
//
// Functions that schedule callbacks take a trailing `CallSite where = CallSite::current()`
// argument, so debug-mode logs can say where a slow or failing callback was scheduled
// ("src/server.cc:42"). It plays the part of std::source_location, built from the
// __builtin_FILE/__builtin_LINE intrinsics that GCC and Clang both evaluate at the call
// site — Clang 14's tools cannot parse libstdc++ 12's std::source_location.
#pragma once

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN

struct CallSite {
  const char* file = "";
  unsigned line = 0;

  // The location of the call this default argument belongs to.
  static constexpr CallSite current(const char* file = __builtin_FILE(),
                                    unsigned line = __builtin_LINE()) noexcept {
    return CallSite{file, line};
  }
};

RESTRACK_NAMESPACE_END
