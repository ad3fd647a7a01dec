// Internal: what an operation's failed result means, as a std::error_code, and the
// std::system_error that the proactor throws for it.
//
// A failed result is negative. On Linux it is -errno. On Windows the IOCP backend
// delivers -errno too for the Windows errors that have an errno twin the portable layers
// test (error_result(), windows/winsock_runtime.h: WSAECONNRESET is -ECONNRESET), and
// -(kWindowsErrorBase + code) for every other Windows error, so that the two never meet:
// ERROR_ACCESS_DENIED and EIO are both 5.
//
// The errno values get a category whose messages are the C library's texts (on Windows a
// table: mingw-w64's C runtime has no text for ECONNRESET and the other socket errors) and
// that compares equal to std::errc, so `error.code() == std::errc::connection_reset` holds
// on both platforms; Windows errors keep std::system_category() and Windows' own texts.
#pragma once

#include <string>
#include <system_error>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Windows errors without an errno twin travel as -(kWindowsErrorBase + code). Win32 error
// codes fit in 16 bits; errno values stay far below.
inline constexpr int kWindowsErrorBase = 1 << 20;

// The category of errno values: std::system_category() on Linux (errno is the system's
// error there), restrack's own on Windows (windows/result_error_windows.cc).
const std::error_category& errno_category() noexcept;

// The error of a failed result (`result` < 0).
inline std::error_code result_error_code(int result) noexcept {
  const int error = -result;
  if (error >= kWindowsErrorBase) {
    return {error - kWindowsErrorBase, std::system_category()};
  }
  return {error, errno_category()};
}

// "<what>: <message>", as std::system_error words it.
inline std::system_error result_error(int result, const std::string& what) {
  return std::system_error(result_error_code(result), what);
}

}  // namespace internal
RESTRACK_NAMESPACE_END
