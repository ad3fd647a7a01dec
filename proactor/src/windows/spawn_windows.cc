// Subprocesses on Windows: CreateProcessW with the child's three standard handles, and
// only those, inherited (PROC_THREAD_ATTRIBUTE_HANDLE_LIST). Stdio::pipe is a named pipe
// of a unique name: the parent's end overlapped (the loop's backend reads and writes it
// through the port), the child's end an ordinary blocking handle, as programs expect of
// their standard handles. The exit reaches the loop through the process handle
// (OperationType::wait_process: a registered wait posting to the port, rule 7).
//
// Windows has no signals: terminate() and kill() end the child with TerminateProcess (exit
// code 1, what other observers of the child see), and restrack reports the -N of the
// signal it was asked to send, as on Linux, for a child it ended that way.
#include <winsock2.h>

#include <windows.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "platform/windows_text.h"
#include "restrack/kind.h"
#include "spawn_calls.h"
#include "winsock_runtime.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

// The exit code TerminateProcess gives a child ended by terminate() or kill().
constexpr UINT kTerminatedExitCode = 1;

// A handle closed when its owner goes, unless released.
class OwnedHandle {
 public:
  OwnedHandle() = default;
  explicit OwnedHandle(HANDLE handle) noexcept
      : handle_(handle == INVALID_HANDLE_VALUE ? nullptr : handle) {}
  OwnedHandle(OwnedHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  OwnedHandle& operator=(OwnedHandle&& other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  ~OwnedHandle() {
    if (handle_ != nullptr) ::CloseHandle(handle_);
  }
  HANDLE get() const noexcept { return handle_; }
  HANDLE release() noexcept { return std::exchange(handle_, nullptr); }
  explicit operator bool() const noexcept { return handle_ != nullptr; }

 private:
  HANDLE handle_ = nullptr;
};

[[noreturn]] void throw_spawn_error(DWORD error, const std::string& what) {
  throw std::system_error(static_cast<int>(error), std::system_category(),
                          "subprocess_exec: " + what);
}

bool is_file(const std::wstring& path) {
  const DWORD attributes = ::GetFileAttributesW(path.c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) == 0;
}

// `name`, then `name`.exe when its last component has no extension.
std::vector<std::wstring> candidates(const std::wstring& name) {
  std::vector<std::wstring> result{name};
  const std::size_t last = name.find_last_of(L"\\/:");
  const std::size_t dot = name.find(L'.', last == std::wstring::npos ? 0 : last + 1);
  if (dot == std::wstring::npos) result.push_back(name + L".exe");
  return result;
}

// The file that runs for argv[0]: a name with a '\', '/' or ':' is a path (relative ones
// to the parent's working directory); another name is searched in the directories of
// PATH, in order (not in the parent's own directory or the working directory first, as
// CreateProcess's own search would). Either way ".exe" is tried too when the name has no
// extension.
std::wstring find_program(const std::string& program) {
  const std::wstring name = utf8_to_wide(program);
  if (name.find_first_of(L"\\/:") != std::wstring::npos) {
    for (const std::wstring& candidate : candidates(name)) {
      if (is_file(candidate)) return candidate;
    }
    throw_spawn_error(ERROR_FILE_NOT_FOUND, "cannot run " + program);
  }
  std::wstring path(::GetEnvironmentVariableW(L"PATH", nullptr, 0), L'\0');
  path.resize(::GetEnvironmentVariableW(L"PATH", path.data(), static_cast<DWORD>(path.size())));
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(L';', start);
    if (end == std::wstring::npos) end = path.size();
    std::wstring directory = path.substr(start, end - start);
    start = end + 1;
    if (directory.size() >= 2 && directory.front() == L'"' && directory.back() == L'"') {
      directory = directory.substr(1, directory.size() - 2);
    }
    if (directory.empty()) continue;
    if (directory.back() != L'\\' && directory.back() != L'/') directory += L'\\';
    for (const std::wstring& candidate : candidates(directory + name)) {
      if (is_file(candidate)) return candidate;
    }
  }
  throw_spawn_error(ERROR_FILE_NOT_FOUND, "cannot run " + program);
}

// One argument as the C runtime's parser (and CommandLineToArgvW) reads it back: quoted
// when empty or holding a blank or a quote; inside quotes, a quote is escaped with a
// backslash and the backslashes before a quote, or before the closing quote, are doubled.
void append_argument(std::string& line, const std::string& argument) {
  if (!argument.empty() && argument.find_first_of(" \t\n\v\"") == std::string::npos) {
    line += argument;
    return;
  }
  line += '"';
  std::size_t backslashes = 0;
  for (const char c : argument) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    line.append(c == '"' ? 2 * backslashes + 1 : backslashes, '\\');
    backslashes = 0;
    line += c;
  }
  line.append(2 * backslashes, '\\');
  line += '"';
}

// argv as one command line. argv[0] is always quoted and taken literally (the parsers do
// not unescape the program name), so it cannot hold a quote (no Windows file name can).
std::wstring command_line(const std::vector<std::string>& argv) {
  if (argv.front().find('"') != std::string::npos) {
    throw_spawn_error(ERROR_INVALID_NAME, "cannot run " + argv.front());
  }
  std::string line = '"' + argv.front() + '"';
  for (std::size_t i = 1; i < argv.size(); ++i) {
    line += ' ';
    append_argument(line, argv[i]);
  }
  return utf8_to_wide(line);
}

// NAME=value entries as a CreateProcessW environment block: UTF-16, sorted by name without
// regard to case (as Windows keeps its own), each ended by a null, the block by another.
std::wstring environment_block(const std::vector<std::string>& entries) {
  std::vector<std::wstring> wide;
  wide.reserve(entries.size());
  for (const std::string& entry : entries) wide.push_back(utf8_to_wide(entry));
  auto name = [](const std::wstring& entry) {
    return std::wstring_view(entry).substr(0, entry.find(L'=', 1));
  };
  std::stable_sort(wide.begin(), wide.end(), [&](const std::wstring& a, const std::wstring& b) {
    const std::wstring_view left = name(a);
    const std::wstring_view right = name(b);
    return ::CompareStringOrdinal(left.data(), static_cast<int>(left.size()), right.data(),
                                  static_cast<int>(right.size()), TRUE) == CSTR_LESS_THAN;
  });
  std::wstring block;
  for (const std::wstring& entry : wide) {
    block += entry;
    block += L'\0';
  }
  if (wide.empty()) block += L'\0';
  block += L'\0';
  return block;
}

SECURITY_ATTRIBUTES inheritable() noexcept {
  SECURITY_ATTRIBUTES attributes{};
  attributes.nLength = sizeof attributes;
  attributes.bInheritHandle = TRUE;
  return attributes;
}

// The two ends of the pipe to the child's `fd`: the parent's (overlapped, duplex: the
// parent reads even the stdin pipe, to see it close) and the child's (inheritable,
// blocking; read-only for stdin, write-only for stdout and stderr).
std::pair<OwnedHandle, OwnedHandle> make_pipe(int fd) {
  static std::atomic<unsigned> serial{0};
  constexpr DWORD kBufferSize = 65536;
  OwnedHandle parent;
  std::wstring name;
  // FILE_FLAG_FIRST_PIPE_INSTANCE: the name is this process's alone, never joined to a
  // server of the same name made by someone else.
  for (int attempt = 0; !parent; ++attempt) {
    name = L"\\\\.\\pipe\\restrack-subprocess-" + std::to_wstring(::GetCurrentProcessId()) + L"-" +
           std::to_wstring(serial.fetch_add(1, std::memory_order_relaxed));
    parent = OwnedHandle(::CreateNamedPipeW(
        name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
        PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
        kBufferSize, kBufferSize, 0, nullptr));
    const DWORD error = ::GetLastError();
    if (!parent && (error != ERROR_ACCESS_DENIED || attempt == 16)) {
      throw_spawn_error(error, "pipe for fd " + std::to_string(fd));
    }
  }
  SECURITY_ATTRIBUTES attributes = inheritable();
  OwnedHandle child(::CreateFileW(
      name.c_str(),
      fd == 0 ? GENERIC_READ | FILE_WRITE_ATTRIBUTES : GENERIC_WRITE | FILE_READ_ATTRIBUTES, 0,
      &attributes, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!child) throw_spawn_error(::GetLastError(), "pipe for fd " + std::to_string(fd));
  return {std::move(parent), std::move(child)};
}

// The child's `fd` as NUL, inheritable.
OwnedHandle open_null(int fd) {
  SECURITY_ATTRIBUTES attributes = inheritable();
  OwnedHandle null(::CreateFileW(L"NUL", fd == 0 ? GENERIC_READ : GENERIC_WRITE,
                                 FILE_SHARE_READ | FILE_SHARE_WRITE, &attributes, OPEN_EXISTING, 0,
                                 nullptr));
  if (!null) throw_spawn_error(::GetLastError(), "NUL for fd " + std::to_string(fd));
  return null;
}

// An inheritable copy of the parent's own standard handle `fd`; none if it has none.
OwnedHandle inherit_own(int fd) {
  static constexpr DWORD kStandard[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
  const HANDLE own = ::GetStdHandle(kStandard[fd]);
  if (own == nullptr || own == INVALID_HANDLE_VALUE) return {};
  HANDLE copy = nullptr;
  if (!::DuplicateHandle(::GetCurrentProcess(), own, ::GetCurrentProcess(), &copy, 0, TRUE,
                         DUPLICATE_SAME_ACCESS)) {
    throw_spawn_error(::GetLastError(), "the parent's fd " + std::to_string(fd));
  }
  return OwnedHandle(copy);
}

// The attribute list that limits inheritance to `handles`, deleted on every path.
class HandleList {
 public:
  explicit HandleList(std::vector<HANDLE> handles) : handles_(std::move(handles)) {
    SIZE_T size = 0;
    ::InitializeProcThreadAttributeList(nullptr, 1, 0, &size);
    storage_.resize(size);
    list_ = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage_.data());
    if (!::InitializeProcThreadAttributeList(list_, 1, 0, &size)) {
      list_ = nullptr;
      throw_spawn_error(::GetLastError(), "attribute list");
    }
    if (!::UpdateProcThreadAttribute(list_, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, handles_.data(),
                                     handles_.size() * sizeof(HANDLE), nullptr, nullptr)) {
      throw_spawn_error(::GetLastError(), "handle list");
    }
  }
  HandleList(const HandleList&) = delete;
  HandleList& operator=(const HandleList&) = delete;
  ~HandleList() {
    if (list_ != nullptr) ::DeleteProcThreadAttributeList(list_);
  }
  LPPROC_THREAD_ATTRIBUTE_LIST get() const noexcept { return list_; }

 private:
  std::vector<HANDLE> handles_;  // read by CreateProcess, so kept until then
  std::vector<char> storage_;
  LPPROC_THREAD_ATTRIBUTE_LIST list_ = nullptr;
};

// The signal each process handle was ended with by signal_process (a TerminateProcess
// that succeeded), until its handle is closed.
std::mutex terminated_mutex;
std::vector<std::pair<HANDLE, int>> terminated;

int exit_status(HANDLE process) noexcept {
  DWORD code = 0;
  if (!::GetExitCodeProcess(process, &code)) return -1;
  if (code == kTerminatedExitCode) {
    const std::lock_guard<std::mutex> lock(terminated_mutex);
    for (const auto& [handle, signal] : terminated) {
      if (handle == process) return -signal;
    }
  }
  return static_cast<int>(code);
}

HANDLE as_handle(NativeSocket process_handle) noexcept {
  return reinterpret_cast<HANDLE>(process_handle);
}

}  // namespace

SpawnedChild spawn_process(const std::vector<std::string>& argv, const SubprocessOptions& options) {
  const std::string& program = argv.front();
  std::wstring directory;
  if (!options.cwd.empty()) {
    directory = utf8_to_wide(options.cwd);
    const DWORD attributes = ::GetFileAttributesW(directory.c_str());
    if (attributes == INVALID_FILE_ATTRIBUTES) {
      throw_spawn_error(::GetLastError(), "working directory " + options.cwd);
    }
    if ((attributes & FILE_ATTRIBUTE_DIRECTORY) == 0) {
      throw_spawn_error(ERROR_DIRECTORY, "working directory " + options.cwd);
    }
  }
  const std::wstring application = find_program(program);
  std::wstring line = command_line(argv);
  std::wstring environment;
  if (options.env) environment = environment_block(*options.env);

  std::array<OwnedHandle, 3> parent;
  std::array<OwnedHandle, 3> child;
  const Stdio modes[3] = {options.stdin_mode, options.stdout_mode, options.stderr_mode};
  for (int fd = 0; fd < 3; ++fd) {
    const auto slot = static_cast<std::size_t>(fd);
    switch (modes[fd]) {
      case Stdio::pipe:
        std::tie(parent[slot], child[slot]) = make_pipe(fd);
        break;
      case Stdio::devnull:
        child[slot] = open_null(fd);
        break;
      case Stdio::inherit:
        child[slot] = inherit_own(fd);
        break;
      case Stdio::same_as_stdout:
        break;  // below: the child's stdout handle itself
    }
  }
  const HANDLE child_stderr =
      options.stderr_mode == Stdio::same_as_stdout ? child[1].get() : child[2].get();

  std::vector<HANDLE> inherited;
  for (const HANDLE handle : {child[0].get(), child[1].get(), child_stderr}) {
    if (handle != nullptr &&
        std::find(inherited.begin(), inherited.end(), handle) == inherited.end()) {
      inherited.push_back(handle);
    }
  }
  STARTUPINFOEXW startup{};
  startup.StartupInfo.cb = sizeof startup;
  startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  startup.StartupInfo.hStdInput = child[0].get();
  startup.StartupInfo.hStdOutput = child[1].get();
  startup.StartupInfo.hStdError = child_stderr;
  std::optional<HandleList> handle_list;
  DWORD flags = CREATE_UNICODE_ENVIRONMENT;
  if (!inherited.empty()) {
    handle_list.emplace(inherited);
    startup.lpAttributeList = handle_list->get();
    flags |= EXTENDED_STARTUPINFO_PRESENT;
  }
  PROCESS_INFORMATION process{};
  if (!::CreateProcessW(
          application.c_str(), line.data(), nullptr, nullptr, inherited.empty() ? FALSE : TRUE,
          flags, options.env ? environment.data() : nullptr,
          directory.empty() ? nullptr : directory.c_str(), &startup.StartupInfo, &process)) {
    throw_spawn_error(::GetLastError(), "cannot run " + program);
  }
  ::CloseHandle(process.hThread);
  // Nothing fails from here on (it would leave a child to kill): the parent's ends get
  // their owners.
  SpawnedChild spawned;
  for (std::size_t slot = 0; slot < 3; ++slot) {
    if (parent[slot])
      spawned.pipes[slot] = Socket::from_handle(parent[slot].release(), kinds::pipe);
  }
  spawned.pid = static_cast<int>(process.dwProcessId);
  spawned.process_handle = reinterpret_cast<NativeSocket>(process.hProcess);
  return spawned;  // the child's ends are closed with `child`
}

std::optional<int> try_reap(NativeSocket process_handle) noexcept {
  if (::WaitForSingleObject(as_handle(process_handle), 0) != WAIT_OBJECT_0) return std::nullopt;
  return exit_status(as_handle(process_handle));
}

int reap(NativeSocket process_handle) noexcept {
  if (::WaitForSingleObject(as_handle(process_handle), INFINITE) != WAIT_OBJECT_0) return -1;
  return exit_status(as_handle(process_handle));
}

int signal_process(NativeSocket process_handle, int signal) noexcept {
  if (signal != kSignalTerminate && signal != kSignalKill) return error_result(ERROR_NOT_SUPPORTED);
  const HANDLE process = as_handle(process_handle);
  // Exited already (a zombie, on Linux): nothing to end, as signalling a zombie does nothing.
  if (::WaitForSingleObject(process, 0) == WAIT_OBJECT_0) return 0;
  const std::lock_guard<std::mutex> lock(terminated_mutex);
  if (!::TerminateProcess(process, kTerminatedExitCode)) {
    const DWORD error = ::GetLastError();
    return ::WaitForSingleObject(process, 0) == WAIT_OBJECT_0 ? 0 : error_result(error);
  }
  try {
    terminated.emplace_back(process, signal);
  } catch (...) {
    // Out of memory: the child is ended all the same, and reported with its exit code.
  }
  return 0;
}

void close_process_handle(NativeSocket process_handle) noexcept {
  {
    const std::lock_guard<std::mutex> lock(terminated_mutex);
    std::erase_if(terminated,
                  [&](const auto& entry) { return entry.first == as_handle(process_handle); });
  }
  ::CloseHandle(as_handle(process_handle));
}

}  // namespace internal
RESTRACK_NAMESPACE_END
