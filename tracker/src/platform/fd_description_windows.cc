// Windows implementation of fd_description.h: a C runtime descriptor is described by the
// Windows handle under it ("fd=3 C:\data\in.bin", "fd=4 pipe \\.\pipe\name").
#include <io.h>
#include <windows.h>

#include <vector>

#include "fd_description.h"
#include "platform/windows_text.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The path of an open file, as users write it ("C:\data\in.bin"); empty if unknown.
std::string file_path(HANDLE handle) {
  std::wstring path(MAX_PATH, L'\0');
  DWORD length = GetFinalPathNameByHandleW(handle, path.data(), static_cast<DWORD>(path.size()),
                                           FILE_NAME_NORMALIZED);
  if (length >= path.size()) {
    path.resize(length + 1);
    length = GetFinalPathNameByHandleW(handle, path.data(), static_cast<DWORD>(path.size()),
                                       FILE_NAME_NORMALIZED);
  }
  if (length == 0 || length >= path.size()) return {};
  path.resize(length);
  return wide_to_utf8(without_long_path_prefix(std::move(path)));
}

// "\\.\pipe\name" for a named pipe; empty for an anonymous one or if unknown.
std::string pipe_name(HANDLE handle) {
  std::vector<unsigned char> storage(sizeof(FILE_NAME_INFO) + MAX_PATH * sizeof(WCHAR));
  auto* info = reinterpret_cast<FILE_NAME_INFO*>(storage.data());
  if (!GetFileInformationByHandleEx(handle, FileNameInfo, info,
                                    static_cast<DWORD>(storage.size()))) {
    return {};
  }
  std::wstring_view name(info->FileName, info->FileNameLength / sizeof(WCHAR));
  if (name.empty()) return {};
  // The name within the pipe file system: "\name".
  if (name.front() == L'\\') name.remove_prefix(1);
  return "\\\\.\\pipe\\" + wide_to_utf8(name);
}

}  // namespace

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
