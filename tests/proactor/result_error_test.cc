// What a failed operation's result reads as (proactor/src/result_error.h): the same text
// and the same std::errc on every platform, whatever the platform's C library knows.
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "result_error.h"

namespace {

using restrack::internal::result_error;

TEST(ResultErrorTest, ConnectionResetReadsAsTheCLibraryWordsItAndComparesEqualToErrc) {
  const std::system_error error = result_error(-ECONNRESET, "recv tcp socket 7");
  EXPECT_STREQ(error.what(), "recv tcp socket 7: Connection reset by peer");
  EXPECT_EQ(error.code().value(), ECONNRESET);
  EXPECT_EQ(error.code(), std::errc::connection_reset);
}

// The errors the backends deliver, each with its text: on Windows these are restrack's
// table (mingw-w64's strerror says "Unknown error" for every one above 100), on Linux the
// GNU C library's.
TEST(ResultErrorTest, EveryErrorTheBackendsDeliverHasItsText) {
  const std::vector<std::pair<int, std::string>> expected = {
      {ECANCELED, "Operation canceled"},
      {ECONNREFUSED, "Connection refused"},
      {ECONNRESET, "Connection reset by peer"},
      {ECONNABORTED, "Software caused connection abort"},
      {ENOTCONN, "Transport endpoint is not connected"},
      {EBADF, "Bad file descriptor"},
      {EINVAL, "Invalid argument"},
      {EADDRINUSE, "Address already in use"},
      {EADDRNOTAVAIL, "Cannot assign requested address"},
      {ENETDOWN, "Network is down"},
      {ENETRESET, "Network dropped connection on reset"},
      {ENETUNREACH, "Network is unreachable"},
      {EHOSTUNREACH, "No route to host"},
      {ETIMEDOUT, "Connection timed out"},
      {EMSGSIZE, "Message too long"},
      {EPIPE, "Broken pipe"},
      {ENOBUFS, "No buffer space available"},
  };
  for (const auto& [value, text] : expected) {
    const std::error_code code = restrack::internal::result_error_code(-value);
    EXPECT_EQ(code.value(), value);
    EXPECT_EQ(code.message(), text) << "errno " << value;
    EXPECT_EQ(code.default_error_condition(), std::error_condition(value, std::generic_category()));
  }
}

}  // namespace
