// Windows implementation of platform.h.
#include <absl/strings/escaping.h>
#include <windows.h>
#include <winternl.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "platform.h"
#include "platform/windows_text.h"
#include "thread_slot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The CodeView record of a PE module's debug directory ("RSDS", a GUID and an age): what
// identifies the module's debug information, as the GNU build id does on Linux. mingw-w64
// programs carry one when linked with --build-id; empty otherwise.
std::string build_id_of(HMODULE module) {
  const auto* base = reinterpret_cast<const unsigned char*>(module);
  const auto* dos = reinterpret_cast<const IMAGE_DOS_HEADER*>(base);
  if (dos->e_magic != IMAGE_DOS_SIGNATURE) return {};
  const auto* nt = reinterpret_cast<const IMAGE_NT_HEADERS*>(base + dos->e_lfanew);
  if (nt->Signature != IMAGE_NT_SIGNATURE) return {};
  const IMAGE_DATA_DIRECTORY& directory =
      nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_DEBUG];
  const auto* entries =
      reinterpret_cast<const IMAGE_DEBUG_DIRECTORY*>(base + directory.VirtualAddress);
  const std::size_t count = directory.Size / sizeof(IMAGE_DEBUG_DIRECTORY);
  for (std::size_t i = 0; i < count && directory.VirtualAddress != 0; ++i) {
    const IMAGE_DEBUG_DIRECTORY& entry = entries[i];
    // "RSDS", a 16-byte GUID, a 4-byte age, then the PDB's name.
    if (entry.Type != IMAGE_DEBUG_TYPE_CODEVIEW || entry.AddressOfRawData == 0 ||
        entry.SizeOfData < 24) {
      continue;
    }
    const unsigned char* record = base + entry.AddressOfRawData;
    if (std::memcmp(record, "RSDS", 4) != 0) continue;
    return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(record) + 4, 20));
  }
  return {};
}

// Counts DLL loads and unloads, from the loader's notifications (registered on first use:
// earlier changes need no counting, nothing has looked at the modules yet).
std::atomic<std::uint64_t> g_module_changes{0};

using DllNotificationFunction = VOID(CALLBACK*)(ULONG, const void*, PVOID);
using RegisterDllNotification = NTSTATUS(NTAPI*)(ULONG, DllNotificationFunction, PVOID, PVOID*);

void CALLBACK count_module_change(ULONG, const void*, PVOID) {
  g_module_changes.fetch_add(1, std::memory_order_relaxed);
}

bool watch_module_changes() {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr) return false;
  // Declared by no mingw-w64 header; exported by ntdll since Windows Vista (and Wine).
  const auto registration = reinterpret_cast<RegisterDllNotification>(
      reinterpret_cast<void*>(GetProcAddress(ntdll, "LdrRegisterDllNotification")));
  void* cookie = nullptr;
  return registration != nullptr && registration(0, &count_module_change, nullptr, &cookie) >= 0;
}

}  // namespace

void yield_thread() noexcept { SwitchToThread(); }

void* reserve_memory(std::size_t bytes) noexcept {
  return VirtualAlloc(nullptr, bytes, MEM_RESERVE, PAGE_NOACCESS);
}

bool commit_memory(void* address, std::size_t bytes) noexcept {
  // Committing pages already committed leaves their contents alone.
  return VirtualAlloc(address, bytes, MEM_COMMIT, PAGE_READWRITE) != nullptr;
}

// FlushProcessWriteBuffers would do, but Wine, where the Windows build is tested, does not
// promise it: the registry keeps its locks on Windows.
bool process_barrier_available() noexcept { return false; }
void process_barrier() noexcept {}

// Both read the thread's TEB: nothing to cache (a thread_local would cost more here; see
// thread_slot.h).
std::uint32_t current_thread_id() noexcept { return GetCurrentThreadId(); }

StackBounds current_stack_bounds() noexcept {
  ULONG_PTR low = 0;
  ULONG_PTR high = 0;
  // The whole reserved stack, not only the part committed so far.
  GetCurrentThreadStackLimits(&low, &high);
  return {low, high};
}

static_assert(offsetof(TEB, TlsSlots) == 0x1480, "read_thread_slot's offset");

std::uint32_t claim_thread_slot(std::atomic<std::uint32_t>& index) noexcept {
  std::uint32_t claimed = index.load(std::memory_order_acquire);
  if (claimed != kUnclaimedThreadSlot) return claimed;
  const DWORD allocated = TlsAlloc();
  // Indexes from 64 on live outside the TEB (TlsExpansionSlots): not worth a second path.
  std::uint32_t mine = allocated < kThreadSlotsInTeb ? allocated : kNoThreadSlot;
  if (allocated != TLS_OUT_OF_INDEXES && mine == kNoThreadSlot) TlsFree(allocated);
  if (!index.compare_exchange_strong(claimed, mine, std::memory_order_acq_rel)) {
    if (mine != kNoThreadSlot) TlsFree(mine);  // another thread claimed first
    mine = claimed;
  }
  return mine;
}

KeepLastError::KeepLastError() noexcept : error_(GetLastError()) {}
KeepLastError::~KeepLastError() { SetLastError(error_); }

std::int64_t coarse_now_ns() noexcept {
  // The tick count: monotonic, with the resolution of the system timer (10-16 ms).
  return static_cast<std::int64_t>(GetTickCount64()) * 1'000'000;
}

ModuleInfo module_of(std::uintptr_t address) noexcept {
  ModuleInfo info;
  HMODULE module = nullptr;
  if (!GetModuleHandleExW(
          GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
          reinterpret_cast<LPCWSTR>(address), &module)) {
    return info;
  }
  info.base = reinterpret_cast<std::uintptr_t>(module);
  try {
    std::wstring path(MAX_PATH, L'\0');
    while (true) {
      const DWORD length = GetModuleFileNameW(module, path.data(), static_cast<DWORD>(path.size()));
      if (length == 0) {
        path.clear();
        break;
      }
      if (length < path.size()) {
        path.resize(length);
        break;
      }
      path.resize(path.size() * 2);  // truncated: try a larger buffer
    }
    info.path = wide_to_utf8(path);
    info.build_id = build_id_of(module);
  } catch (...) {
    info.path.clear();
  }
  return info;
}

std::uint64_t module_generation() noexcept {
  static const bool watching = watch_module_changes();
  // Without notifications every call is a new generation: never a stale view.
  if (!watching) return g_module_changes.fetch_add(1, std::memory_order_relaxed) + 1;
  return g_module_changes.load(std::memory_order_relaxed);
}

bool is_process_exit_frame(std::string_view function) noexcept {
  // The C runtime's exit() runs the atexit table (static destructors among it) through
  // _cexit / _execute_onexit_table; mingw-w64's start-up code registers its own.
  return function == "exit" || function == "_cexit" || function == "_execute_onexit_table" ||
         function == "__do_global_dtors";
}

bool is_static_initializer_frame(std::string_view function) noexcept {
  // GCC names a translation unit's initializer these ways on Windows too.
  return function.starts_with("__static_initialization_and_destruction_0") ||
         function.starts_with("_GLOBAL__sub_I_");
}

int current_process_id() noexcept { return static_cast<int>(GetCurrentProcessId()); }

void write_stderr(const char* data, std::size_t size) noexcept {
  HANDLE stderr_handle = GetStdHandle(STD_ERROR_HANDLE);
  if (stderr_handle == nullptr || stderr_handle == INVALID_HANDLE_VALUE) return;
  while (size > 0) {
    DWORD written = 0;
    const DWORD chunk = size > 0x10000000 ? 0x10000000 : static_cast<DWORD>(size);
    if (!WriteFile(stderr_handle, data, chunk, &written, nullptr) || written == 0) return;
    data += written;
    size -= written;
  }
}

void register_fork_handlers(void (*)(), void (*)(), void (*)()) noexcept {
  // Windows has no fork(): a new process never inherits a copy of this one's locks.
}

void exit_with_status(int status) noexcept {
  // The C runtime detaches its atexit table before running it, so exit() called from a
  // handler would skip the rest anyway: flush the C streams (what exit() would) and end
  // the process with the new status.
  std::fflush(nullptr);
  ExitProcess(static_cast<UINT>(status));
}

}  // namespace internal
RESTRACK_NAMESPACE_END
