# The dependencies of restrack's libraries on Windows, as imported targets of the names
# the Linux build gets from Boost's package config and pkg-config, so that the same
# target_link_libraries lines (and the exported link interface) work on both. Used by
# the build (cmake/RestrackDependencies.cmake) and installed beside restrackConfig.cmake
# for find_package(restrack) in a project cross-built with the same toolchain:
#   PkgConfig::RE2               RE2, from its package config in the prefix
#   Boost::headers               Debian's Boost 1.81 headers (libboost1.81-dev, which
#                                tools/setup/install-windows-deps.sh links into the
#                                cross-built prefix), used header-only
#   Boost::stacktrace_backtrace  Boost.Stacktrace on the cross-built libbacktrace:
#                                function names and file:line from DWARF in PE programs
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

find_dependency(re2 CONFIG)
if(NOT TARGET PkgConfig::RE2)
  add_library(PkgConfig::RE2 INTERFACE IMPORTED)
  target_link_libraries(PkgConfig::RE2 INTERFACE re2::re2)
endif()

find_path(RESTRACK_BOOST_INCLUDE_DIR boost/version.hpp REQUIRED)
file(STRINGS "${RESTRACK_BOOST_INCLUDE_DIR}/boost/version.hpp" _restrack_boost_version
     REGEX "^#define BOOST_VERSION [0-9]+$")
string(REGEX REPLACE "^#define BOOST_VERSION " "" _restrack_boost_version
       "${_restrack_boost_version}")
if(NOT _restrack_boost_version GREATER_EQUAL 108100)
  message(FATAL_ERROR "Boost 1.81 or newer needed; ${RESTRACK_BOOST_INCLUDE_DIR} has "
                      "BOOST_VERSION ${_restrack_boost_version}")
endif()
if(NOT TARGET Boost::headers)
  add_library(Boost::headers INTERFACE IMPORTED)
  set_target_properties(Boost::headers PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${RESTRACK_BOOST_INCLUDE_DIR}")
endif()

find_library(RESTRACK_LIBBACKTRACE backtrace REQUIRED)
find_path(RESTRACK_LIBBACKTRACE_INCLUDE_DIR backtrace.h REQUIRED)
if(NOT TARGET Boost::stacktrace_backtrace)
  add_library(Boost::stacktrace_backtrace INTERFACE IMPORTED)
  set_target_properties(Boost::stacktrace_backtrace PROPERTIES
    INTERFACE_COMPILE_DEFINITIONS BOOST_STACKTRACE_USE_BACKTRACE
    INTERFACE_INCLUDE_DIRECTORIES "${RESTRACK_LIBBACKTRACE_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "Boost::headers;${RESTRACK_LIBBACKTRACE}")
endif()
