// Windows implementation of handle_description_windows.h: files and pipes by their names,
// processes by their ids, other kernel objects by their type (NtQueryObject), sockets by
// protocol and addresses (getsockname, getpeername).
#include "platform/handle_description_windows.h"

#include <windows.h>
#include <winternl.h>
#include <ws2tcpip.h>

#include <cwctype>
#include <string_view>
#include <vector>

#include "platform/windows_text.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The object's type as the kernel names it ("Event", "Semaphore"), in lower case; empty if
// unknown.
std::string object_type(HANDLE handle) {
  std::vector<unsigned char> storage(sizeof(PUBLIC_OBJECT_TYPE_INFORMATION) + 64 * sizeof(WCHAR));
  ULONG length = 0;
  if (!NT_SUCCESS(NtQueryObject(handle, ObjectTypeInformation, storage.data(),
                                static_cast<ULONG>(storage.size()), &length))) {
    return {};
  }
  const auto* info = reinterpret_cast<const PUBLIC_OBJECT_TYPE_INFORMATION*>(storage.data());
  std::wstring name(info->TypeName.Buffer, info->TypeName.Length / sizeof(WCHAR));
  for (wchar_t& c : name) c = static_cast<wchar_t>(std::towlower(static_cast<wint_t>(c)));
  return wide_to_utf8(name);
}

// "127.0.0.1:8080", "[::1]:8080"; empty for another family.
std::string address_text(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  switch (address.ss_family) {
    case AF_INET: {
      const auto& in = reinterpret_cast<const sockaddr_in&>(address);
      inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
      return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
    }
    case AF_INET6: {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
      inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
      return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
    }
    default:
      return {};
  }
}

}  // namespace

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

std::string describe_handle(HANDLE handle) {
  switch (GetFileType(handle)) {
    case FILE_TYPE_DISK: {
      const std::string path = file_path(handle);
      return path.empty() ? "file" : "file " + path;
    }
    case FILE_TYPE_PIPE: {
      const std::string name = pipe_name(handle);
      return name.empty() ? "pipe" : "pipe " + name;
    }
    case FILE_TYPE_CHAR:
      return "character device";
    default:
      break;
  }
  if (const DWORD pid = GetProcessId(handle)) return "process pid=" + std::to_string(pid);
  std::string type = object_type(handle);
  return type.empty() ? "handle" : type;
}

std::string describe_socket(SOCKET socket) {
  WSAPROTOCOL_INFOW info{};
  int info_length = sizeof info;
  if (getsockopt(socket, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info),
                 &info_length) != 0) {
    return "socket";
  }
  std::string text;
  if (info.iProtocol == IPPROTO_TCP) text = "tcp";
  if (info.iProtocol == IPPROTO_UDP) text = "udp";
  if (!text.empty() && info.iAddressFamily == AF_INET6) text += "6";
  text += text.empty() ? "socket" : " socket";
  sockaddr_storage local{};
  int local_length = sizeof local;
  if (getsockname(socket, reinterpret_cast<sockaddr*>(&local), &local_length) != 0) return text;
  const std::string local_text = address_text(local);
  if (local_text.empty()) return text;
  text += " " + local_text;
  sockaddr_storage peer{};
  int peer_length = sizeof peer;
  if (getpeername(socket, reinterpret_cast<sockaddr*>(&peer), &peer_length) == 0) {
    const std::string peer_text = address_text(peer);
    if (!peer_text.empty()) text += "->" + peer_text;
  }
  return text;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
