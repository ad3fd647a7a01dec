// The Windows counterparts of regression_posix_test.cc's report paths: a device is written
// into, never replaced (NUL, as /dev/null or a FIFO on Linux).
#include <windows.h>

#include <filesystem>

#include "report_path_test.h"
#include "tracker_test.h"

namespace {

using restrack_test::ReportPathTest;

TEST_F(ReportPathTest, NulDeviceIsWrittenIntoNotReplaced) {
  EXPECT_TRUE(restrack::write_report("NUL"));
  EXPECT_EQ(logged(), "");
  // Still the device: no file of that name, and no temporary file left beside it.
  const HANDLE device = CreateFileA("NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                    nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  ASSERT_NE(device, INVALID_HANDLE_VALUE);
  EXPECT_EQ(GetFileType(device), static_cast<DWORD>(FILE_TYPE_CHAR));
  CloseHandle(device);
  for (const auto& entry : std::filesystem::directory_iterator(".")) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".NUL")) << entry.path();
  }
}

}  // namespace
