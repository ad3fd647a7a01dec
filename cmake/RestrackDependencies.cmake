# Every dependency comes from the distribution's packages (tools/setup/install-deps.sh).
include_guard(GLOBAL)

find_package(absl CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS stacktrace_backtrace json)
find_package(Threads REQUIRED)

# Boost.Stacktrace's libbacktrace backend needs GCC's libbacktrace, which the compiler
# ships next to its runtime (libgcc-12-dev on Debian).
find_library(RESTRACK_LIBBACKTRACE backtrace
  HINTS ${CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES} REQUIRED)

if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND RESTRACK_BUILD_PROACTOR)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing>=2.3)
endif()
if(RESTRACK_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(RESTRACK_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()
