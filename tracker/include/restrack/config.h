// restrack/config.h — the build mode every restrack header agrees on.
//
// RESTRACK_TRACKING is 1 when resource tracking is compiled in and 0 when it is compiled
// out. The CMake targets define it for their consumers. A translation unit that includes
// restrack without the targets gets the mode the installed library was built in, from
// restrack/build_config.h, which the build writes (Debug and RelWithDebInfo builds track
// by default, Release and MinSizeRel builds do not; RESTRACK_TRACKING=ON|OFF decides).
//
// The mode and the layout version are part of the ABI. Every declaration lives in the
// inline namespace `restrack::v1_tracking_on` or `restrack::v1_tracking_off`, so code built
// in one mode (or against headers of another layout) that links against a library built
// in the other fails at link time with an undefined reference naming the namespace,
// instead of misbehaving at run time. RESTRACK_ABI_VERSION changes whenever the layout of
// anything users embed (ResourceGuard, TrackedFd) changes.
#pragma once

#if !defined(RESTRACK_TRACKING)
#include "restrack/build_config.h"
#endif
#if !defined(RESTRACK_TRACKING)
#error "RESTRACK_TRACKING is not defined: link against restrack::tracker, or define it to 0 or 1"
#endif

#define RESTRACK_ABI_VERSION 1

#define RESTRACK_ABI_CONCAT_(version, mode) v##version##_##mode
#define RESTRACK_ABI_CONCAT(version, mode) RESTRACK_ABI_CONCAT_(version, mode)
#if RESTRACK_TRACKING
#define RESTRACK_ABI_NAMESPACE RESTRACK_ABI_CONCAT(RESTRACK_ABI_VERSION, tracking_on)
#else
#define RESTRACK_ABI_NAMESPACE RESTRACK_ABI_CONCAT(RESTRACK_ABI_VERSION, tracking_off)
#endif

// Opens and closes `namespace restrack` together with the mode's inline namespace.
#define RESTRACK_NAMESPACE_BEGIN \
  namespace restrack {           \
  inline namespace RESTRACK_ABI_NAMESPACE {
#define RESTRACK_NAMESPACE_END \
  }                            \
  }

// Forces inlining of the guard's small members even in unoptimized builds, so that no
// frame of restrack's own stands between the user's code and the tracker's entry points.
#if defined(__GNUC__)
#define RESTRACK_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define RESTRACK_ALWAYS_INLINE inline
#endif
