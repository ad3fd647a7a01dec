// Windows implementation of fd_description.h: a C runtime descriptor is described by the
// Windows handle under it ("fd=3 C:\data\in.bin", "fd=4 pipe \\.\pipe\name"), named as
// handle_description_windows.cc names handles.
#include <io.h>
#include <windows.h>

#include "fd_description.h"
#include "platform/handle_description_windows.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

std::string describe_fd(int fd) {
  std::string text = "fd=" + std::to_string(fd);
  if (fd < 0) return text;
  const auto handle = reinterpret_cast<HANDLE>(::_get_osfhandle(fd));
  if (handle == INVALID_HANDLE_VALUE) return text;
  switch (GetFileType(handle)) {
    case FILE_TYPE_DISK: {
      const std::string path = file_path(handle);
      if (!path.empty()) text += " " + path;
      break;
    }
    case FILE_TYPE_PIPE: {
      const std::string name = pipe_name(handle);
      text += name.empty() ? " pipe" : " pipe " + name;
      break;
    }
    case FILE_TYPE_CHAR:
      text += " character device";
      break;
    default:
      break;
  }
  return text;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
