# Every dependency comes from the distribution's packages (tools/setup/install-deps.sh).
include_guard(GLOBAL)

# On Windows (cmake/toolchain-mingw-w64.cmake) they come from the prefix that
# tools/setup/install-windows-deps.sh cross-builds from Debian's source packages.
find_package(absl CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
if(WIN32)
  # Boost header-only, with targets of the same names as on Linux.
  include(RestrackWindowsBoost)
else()
  find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json)
  find_package(PkgConfig REQUIRED)
endif()
find_package(Threads REQUIRED)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # Symbolization reads DWARF with elfutils' libdw (docs/design.md).
  pkg_check_modules(LIBDW REQUIRED IMPORTED_TARGET libdw)
endif()

if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND RESTRACK_BUILD_PROACTOR)
  pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing>=2.3)
endif()
if(RESTRACK_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(RESTRACK_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
  # Only as reference points of the capture benchmarks: Boost.Stacktrace's own capture,
  # which needs the compiler's libbacktrace.
  find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS stacktrace_backtrace)
  find_library(RESTRACK_LIBBACKTRACE backtrace
    HINTS ${CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES} REQUIRED)
endif()
