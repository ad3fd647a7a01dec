# Cross-compiles restrack for 64-bit Windows with Debian's mingw-w64 and runs the
# resulting programs under Wine, so that `ctest` runs Windows tests unchanged.
#
#   cmake --preset windows          (CMakePresets.json names this file)
#
# The dependencies (Abseil, GoogleTest, fmt, spdlog, libbacktrace) are cross-built by
# tools/setup/install-windows-deps.sh into a prefix outside the clone; this file finds
# them there. See docs/windows.md.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

# The posix thread model: std::thread, std::mutex and friends come from winpthreads.
# (The win32 model of gcc 12 has no std::thread.)
set(_restrack_triple x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_restrack_triple}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_restrack_triple}-g++-posix)
set(CMAKE_RC_COMPILER ${_restrack_triple}-windres)

# Debug information in DWARF 4: libbacktrace on PE files (and Wine's own DWARF reader)
# lose function names and lines with gcc 12's default DWARF 5. Only the configurations
# that ask for debug information get it; Release stays without.
foreach(_restrack_lang C CXX)
  set(CMAKE_${_restrack_lang}_FLAGS_DEBUG_INIT "-gdwarf-4")
  set(CMAKE_${_restrack_lang}_FLAGS_RELWITHDEBINFO_INIT "-gdwarf-4")
endforeach()

# Static linking: the programs need no mingw runtime DLLs next to them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")

# The prefix of the cross-built dependencies: RESTRACK_WINDOWS_PREFIX if set (the setup
# script sets it while it builds them), else the current one in the cache.
if(DEFINED ENV{RESTRACK_WINDOWS_PREFIX})
  set(RESTRACK_WINDOWS_PREFIX "$ENV{RESTRACK_WINDOWS_PREFIX}")
elseif(DEFINED ENV{RESTRACK_CACHE_DIR})
  set(RESTRACK_WINDOWS_PREFIX "$ENV{RESTRACK_CACHE_DIR}/windows")
else()
  set(RESTRACK_WINDOWS_PREFIX "/var/cache/restrack-ci/windows")
endif()
if(NOT IS_DIRECTORY "${RESTRACK_WINDOWS_PREFIX}")
  message(FATAL_ERROR "No cross-built dependencies in ${RESTRACK_WINDOWS_PREFIX}: run "
                      "tools/setup/install-windows-deps.sh (docs/windows.md)")
endif()

# Libraries, headers and packages only from that prefix and the mingw-w64 sysroot, never
# from the Linux system; programs (wine, code generators) from the host.
set(CMAKE_FIND_ROOT_PATH "${RESTRACK_WINDOWS_PREFIX}" /usr/${_restrack_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Test programs run under Wine in the cache's ready WINEPREFIX, quietly, through
# tools/setup/wine-run.sh (which also runs once more a program that Wine ended at once
# without a word: see there).
find_program(RESTRACK_WINE wine)
if(RESTRACK_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      "${CMAKE_CURRENT_LIST_DIR}/../tools/setup/wine-run.sh;${RESTRACK_WINE};${RESTRACK_WINDOWS_PREFIX}/wine")
endif()
