// restrack/config.h — the build mode every restrack header agrees on.
//
// RESTRACK_TRACKING is 1 when resource tracking is compiled in and 0 when it is
// compiled out. The CMake targets define it for their consumers; a translation unit
// that includes restrack without the targets gets 1 unless NDEBUG is defined.
//
// The mode is part of the ABI. Every declaration lives in the inline namespace
// `restrack::tracking_on` or `restrack::tracking_off`, so code built in one mode that
// links against a library built in the other fails at link time with an undefined
// reference naming the other namespace, instead of misbehaving at run time.
#pragma once

#if !defined(RESTRACK_TRACKING)
#if defined(NDEBUG)
#define RESTRACK_TRACKING 0
#else
#define RESTRACK_TRACKING 1
#endif
#endif

#if RESTRACK_TRACKING
#define RESTRACK_ABI_NAMESPACE tracking_on
#else
#define RESTRACK_ABI_NAMESPACE tracking_off
#endif

// Opens and closes `namespace restrack` together with the mode's inline namespace.
#define RESTRACK_NAMESPACE_BEGIN \
  namespace restrack {           \
  inline namespace RESTRACK_ABI_NAMESPACE {
#define RESTRACK_NAMESPACE_END \
  }                            \
  }
