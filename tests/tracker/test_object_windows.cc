// Windows implementation of test_object.h: named pipes with names of their own, as C
// runtime descriptors, described by restrack as "fd=N pipe \\.\pipe\NAME".
#include <fcntl.h>
#include <io.h>
#include <windows.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>

#include "test_object.h"

namespace restrack_test {
namespace {

std::mutex names_mutex;
// The pipe name of the object last opened under each descriptor number.
std::map<int, std::string>& names() {
  static auto* by_descriptor = new std::map<int, std::string>;
  return *by_descriptor;
}

}  // namespace

int open_test_object() {
  static std::atomic<int> opened{0};
  const std::string name =
      "\\\\.\\pipe\\restrack_test_" + std::to_string(process_id()) + "_" + std::to_string(++opened);
  const HANDLE pipe =
      CreateNamedPipeA(name.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, nullptr);
  if (pipe == INVALID_HANDLE_VALUE) return -1;
  const int fd = ::_open_osfhandle(reinterpret_cast<std::intptr_t>(pipe), _O_BINARY);
  if (fd < 0) {
    CloseHandle(pipe);
    return -1;
  }
  const std::lock_guard<std::mutex> lock(names_mutex);
  names()[fd] = name;
  return fd;
}

std::string description_of(int fd) {
  const std::lock_guard<std::mutex> lock(names_mutex);
  return "fd=" + std::to_string(fd) + " pipe " + names()[fd];
}

std::string description_prefix() { return "fd="; }

std::string description_regex() {
  return "fd=\\d+ pipe \\\\\\\\\\.\\\\pipe\\\\restrack_test_\\d+_\\d+";
}

std::string identity_of(int fd) {
  const auto handle = reinterpret_cast<HANDLE>(::_get_osfhandle(fd));
  if (handle == INVALID_HANDLE_VALUE) return {};
  // FILE_NAME_INFO followed by room for the name.
  alignas(FILE_NAME_INFO) char buffer[sizeof(FILE_NAME_INFO) + MAX_PATH * sizeof(WCHAR)];
  if (!GetFileInformationByHandleEx(handle, FileNameInfo, buffer, sizeof buffer)) {
    return "handle " + std::to_string(reinterpret_cast<std::uintptr_t>(handle));
  }
  const auto* info = reinterpret_cast<const FILE_NAME_INFO*>(buffer);
  std::string name;
  for (DWORD i = 0; i < info->FileNameLength / sizeof(WCHAR); ++i) {
    name += static_cast<char>(info->FileName[i]);  // the tests' names are ASCII
  }
  return name;
}

std::string identity_of_file(const std::string& path) {
  // No access asked for: reads the file's attributes, whoever has it open.
  const HANDLE file =
      CreateFileA(path.c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                  OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) return {};
  BY_HANDLE_FILE_INFORMATION info{};
  const bool known = GetFileInformationByHandle(file, &info) != 0;
  CloseHandle(file);
  if (!known) return {};
  const auto index = (std::uint64_t{info.nFileIndexHigh} << 32) | info.nFileIndexLow;
  return std::to_string(info.dwVolumeSerialNumber) + ":" + std::to_string(index);
}

std::string exit_location(const std::string& definition) { return definition; }

void close_descriptor(int fd) { ::_close(fd); }

int process_id() { return static_cast<int>(GetCurrentProcessId()); }

}  // namespace restrack_test
