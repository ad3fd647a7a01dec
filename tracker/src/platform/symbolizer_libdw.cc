// Symbolization with elfutils' libdw. libbacktrace (Boost.Stacktrace's backend, and
// GCC 12's own copy) loses the lines of a whole translation unit's functions when an
// inline function is emitted in several units and the linker keeps one copy — the
// everyday case of templates and in-class member functions; libdw does not.
//
// The session (Dwfl) is kept for the life of the process: opening the modules and
// indexing their debug information is the expensive part of a first report, and a
// program that reports once tends to report again. It is rebuilt only when a module was
// loaded or unloaded since the last report, or when the last attempt failed.
#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "no_destructor.h"
#include "own_descriptors.h"
#include "platform.h"
#include "shared/dwarf_scopes.h"
#include "symbolizer.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The files a session opens stay open while it lives: never hand them to child
// processes. elfutils opens them without O_CLOEXEC, so the callbacks set it.
int close_on_exec(int fd) {
  if (fd >= 0) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  return fd;
}

int find_elf(Dwfl_Module* module, void** user_data, const char* module_name, Dwarf_Addr base,
             char** file_name, Elf** elf) {
  return close_on_exec(
      dwfl_linux_proc_find_elf(module, user_data, module_name, base, file_name, elf));
}

// Where libdw's standard search looks for a module's separate debug information by
// default: its build-id under kDebugRoot, and its debuglink name beside the module, in
// `.debug` beside it, and under kDebugRoot followed by the module's directory.
constexpr char kDebugRoot[] = "/usr/lib/debug";

bool file_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Whether the standard search can find a separate debug file for `module` on this machine:
// one of the files above exists (whether it is the right one is the search's business).
bool local_debuginfo_exists(Dwfl_Module* module, const char* file_name,
                            const char* debuglink_file) {
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  const int length = dwfl_module_build_id(module, &bits, &vaddr);
  if (length > 1) {
    const std::string hex = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(bits), static_cast<std::size_t>(length)));
    if (file_exists(absl::StrCat(kDebugRoot, "/.build-id/", hex.substr(0, 2), "/", hex.substr(2),
                                 ".debug"))) {
      return true;
    }
  }
  if (debuglink_file == nullptr || file_name == nullptr) return false;
  const std::string_view file(file_name);
  const std::size_t slash = file.rfind('/');
  const std::string directory(slash == std::string_view::npos ? "." : file.substr(0, slash));
  return file_exists(absl::StrCat(directory, "/", debuglink_file)) ||
         file_exists(absl::StrCat(directory, "/.debug/", debuglink_file)) ||
         file_exists(absl::StrCat(kDebugRoot, directory, "/", debuglink_file));
}

// Whether the user asked for debuginfod servers (elfutils reads the same variable).
bool debuginfod_servers_named() {
  const char* urls = std::getenv("DEBUGINFOD_URLS");
  return urls != nullptr && urls[0] != '\0';
}

int find_debuginfo(Dwfl_Module* module, void** user_data, const char* module_name, Dwarf_Addr base,
                   const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                   char** debuginfo_file_name) {
  // A module with no debug information on this machine (libstdc++, most shared libraries)
  // is answered here when no debuginfod server is named: the standard search would end
  // by loading elfutils' debuginfod client — libcurl and some twenty libraries, 14 ms of
  // the first report — only to find no server to ask.
  if (!debuginfod_servers_named() && !local_debuginfo_exists(module, file_name, debuglink_file)) {
    errno = ENOENT;
    return -1;
  }
  return close_on_exec(dwfl_standard_find_debuginfo(module, user_data, module_name, base, file_name,
                                                    debuglink_file, debuglink_crc,
                                                    debuginfo_file_name));
}

struct Session {
  Dwfl* dwfl = nullptr;
  std::uint64_t generation = 0;
  bool valid = false;
  // The units symbolized so far; dropped whenever the session is rebuilt.
  dwarf_scopes::UnitIndex units;
};

// The session over the modules of this process as mapped now; null if unavailable.
Session* current_session() {
  static NoDestructor<Session> session;  // reports run during static destruction too
  const std::uint64_t generation = module_generation();
  if (session->valid && session->generation == generation) return &*session;
  static const Dwfl_Callbacks callbacks = {find_elf, find_debuginfo, nullptr, nullptr};
  if (session->dwfl == nullptr) session->dwfl = dwfl_begin(&callbacks);
  if (session->dwfl == nullptr) return nullptr;
  session->units.clear();
  dwfl_report_begin(session->dwfl);
  const int failed = dwfl_linux_proc_report(session->dwfl, ::getpid());
  dwfl_report_end(session->dwfl, nullptr, nullptr);
  session->valid = failed == 0;
  session->generation = generation;
  return session->valid ? &*session : nullptr;
}

void add(std::vector<Frame>& frames, std::uintptr_t address, std::string function, const char* file,
         int line) {
  Frame& frame = frames.emplace_back();
  frame.address = address;
  frame.function = std::move(function);
  if (file != nullptr) frame.file = file;
  frame.line = line > 0 ? static_cast<unsigned>(line) : 0;
}

void symbolize_one(Session& session, std::uintptr_t return_address, SymbolizedAddress& result) {
  std::vector<Frame>& frames = result.frames;
  // A return address points after the call; the byte before it belongs to the call
  // itself, whose line is the one the user wants.
  const Dwarf_Addr call = return_address - 1;
  Dwfl_Module* module = dwfl_addrmodule(session.dwfl, call);
  if (module == nullptr) return;
  Dwarf_Addr elf_bias = 0;
  if (dwfl_module_getelf(module, &elf_bias) == nullptr) {
    // The module is mapped but its file could not be opened now (EMFILE, ENFILE):
    // worth another try later.
    result.final = false;
    return;
  }
  const char* file = nullptr;
  int line = 0;
  if (Dwfl_Line* source = dwfl_module_getsrc(module, call)) {
    file = dwfl_lineinfo(source, nullptr, &line, nullptr, nullptr, nullptr);
  }
  // The symbol table names the outermost function with its full signature, as the
  // demangler spells it; inlined calls inside it are named from the debug information,
  // innermost first, each at the call site of the one inside it.
  const std::string symbol = dwarf_scopes::demangle(dwfl_module_addrname(module, call));
  Dwarf_Addr bias = 0;
  if (Dwarf_Die* unit = dwfl_module_addrdie(module, call, &bias)) {
    for (dwarf_scopes::InlinedFrame& inlined :
         session.units.of(unit).inlined_frames(call - bias, file, line)) {
      add(frames, return_address, std::move(inlined.function), inlined.file, inlined.line);
    }
  }
  add(frames, return_address, symbol, file, line);
}

}  // namespace

std::vector<SymbolizedAddress> symbolize_return_addresses(
    std::span<const std::uintptr_t> return_addresses) noexcept {
  const OwnDescriptorScope own;  // libdw opens (and may close) the modules' files
  std::vector<SymbolizedAddress> result;
  try {
    result.resize(return_addresses.size());
    Session* session = current_session();
    if (session == nullptr) {
      for (SymbolizedAddress& address : result) address.final = false;
      return result;
    }
    for (std::size_t i = 0; i < return_addresses.size(); ++i) {
      symbolize_one(*session, return_addresses[i], result[i]);
    }
  } catch (...) {
    // Out of memory: what was symbolized.
  }
  return result;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
