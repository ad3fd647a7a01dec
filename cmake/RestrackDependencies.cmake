# Every dependency comes from the distribution's packages (tools/setup/install-deps.sh).
include_guard(GLOBAL)

# On Windows (cmake/toolchain-mingw-w64.cmake) they come from the prefix that
# tools/setup/install-windows-deps.sh cross-builds from Debian's source packages.
find_package(absl CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(Threads REQUIRED)
if(WIN32)
  # RE2 and Boost from the prefix, with targets of the same names as on Linux.
  include(restrackWindowsDependencies)
  include(RestrackWindowsBoost)
else()
  find_package(PkgConfig REQUIRED)
  if(RESTRACK_BUILD_TESTS OR RESTRACK_BUILD_TOOLS OR RESTRACK_BUILD_BENCHMARKS)
    # Reading JSON reports back (tests, restrack-report); the library writes its own.
    find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json)
  endif()
  # Suppression rules match with RE2: linear time and bounded stack, whatever the pattern.
  pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
endif()
if(RESTRACK_SYMBOLIZER STREQUAL "libdw")
  # Symbolization reads DWARF with elfutils' libdw (docs/design.md).
  pkg_check_modules(LIBDW REQUIRED IMPORTED_TARGET libdw)
elseif(NOT WIN32)
  # Boost.Stacktrace over libbacktrace, the compiled library of Debian's Boost.
  find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS stacktrace_backtrace)
  # Its functions come from that library (without this, the headers would compile
  # Boost's default backend in).
  set_property(TARGET Boost::stacktrace_backtrace APPEND PROPERTY
    INTERFACE_COMPILE_DEFINITIONS BOOST_STACKTRACE_LINK)
endif()

if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND RESTRACK_BUILD_PROACTOR)
  pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing>=2.3)
endif()
if(RESTRACK_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(RESTRACK_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
  if(NOT WIN32)
    # Only as reference points of the capture benchmarks (Linux only): Boost.Stacktrace's
    # own capture, which needs the compiler's libbacktrace.
    find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS stacktrace_backtrace)
    find_library(RESTRACK_LIBBACKTRACE backtrace
      HINTS ${CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES} REQUIRED)
  endif()
endif()
