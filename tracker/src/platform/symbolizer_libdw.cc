// Symbolization with elfutils' libdw. libbacktrace (Boost.Stacktrace's backend, and
// GCC 12's own copy) loses the lines of a whole translation unit's functions when an
// inline function is emitted in several units and the linker keeps one copy — the
// everyday case of templates and in-class member functions; libdw does not.
#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "symbolizer.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  int status = 0;
  char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || demangled == nullptr) return name;
  std::string result(demangled);
  std::free(demangled);
  return result;
}

// A session over the modules of this process as mapped now; nullptr if unavailable.
Dwfl* open_session() {
  static const Dwfl_Callbacks callbacks = {dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo,
                                           nullptr, nullptr};
  Dwfl* session = dwfl_begin(&callbacks);
  if (session == nullptr) return nullptr;
  dwfl_report_begin(session);
  const int failed = dwfl_linux_proc_report(session, ::getpid());
  dwfl_report_end(session, nullptr, nullptr);
  if (failed != 0) {
    dwfl_end(session);
    return nullptr;
  }
  return session;
}

// The function a scope DIE names: its linkage name demangled (parameters included),
// else its plain name; an inlined call names the function through its abstract origin.
std::string scope_name(Dwarf_Die* scope) {
  Dwarf_Attribute attribute;
  const char* linkage =
      dwarf_formstring(dwarf_attr_integrate(scope, DW_AT_linkage_name, &attribute));
  if (linkage != nullptr) return demangle(linkage);
  const char* name = dwarf_formstring(dwarf_attr_integrate(scope, DW_AT_name, &attribute));
  return name != nullptr ? name : std::string();
}

void add(std::vector<Frame>& frames, std::uintptr_t address, std::string function, const char* file,
         int line) {
  Frame& frame = frames.emplace_back();
  frame.address = address;
  frame.function = std::move(function);
  if (file != nullptr) frame.file = file;
  frame.line = line > 0 ? static_cast<unsigned>(line) : 0;
}

void symbolize_one(Dwfl* dwfl, std::uintptr_t return_address, std::vector<Frame>& frames) {
  // A return address points after the call; the byte before it belongs to the call
  // itself, whose line is the one the user wants.
  const Dwarf_Addr call = return_address - 1;
  Dwfl_Module* module = dwfl_addrmodule(dwfl, call);
  if (module == nullptr) return;
  const char* file = nullptr;
  int line = 0;
  if (Dwfl_Line* source = dwfl_module_getsrc(module, call)) {
    file = dwfl_lineinfo(source, nullptr, &line, nullptr, nullptr, nullptr);
  }
  // The symbol table names the outermost function with its full signature, as the
  // demangler spells it; inlined calls inside it are named from the debug information.
  const std::string symbol = demangle(dwfl_module_addrname(module, call));
  Dwarf_Addr bias = 0;
  Dwarf_Die* unit = dwfl_module_addrdie(module, call, &bias);
  Dwarf_Die* scopes = nullptr;
  const int count = unit != nullptr ? dwarf_getscopes(unit, call - bias, &scopes) : 0;
  Dwarf_Files* files = nullptr;
  if (unit != nullptr) dwarf_getsrcfiles(unit, &files, nullptr);
  // Innermost first: each inlined call is a frame at the current file:line, and its call
  // site (DW_AT_call_file/line) is where the next frame out stands.
  for (int i = 0; i < count; ++i) {
    Dwarf_Die* scope = &scopes[i];
    const int tag = dwarf_tag(scope);
    if (tag == DW_TAG_subprogram) break;
    if (tag != DW_TAG_inlined_subroutine) continue;
    add(frames, return_address, scope_name(scope), file, line);
    Dwarf_Attribute attribute;
    Dwarf_Word call_file = 0;
    Dwarf_Word call_line = 0;
    dwarf_formudata(dwarf_attr(scope, DW_AT_call_file, &attribute), &call_file);
    dwarf_formudata(dwarf_attr(scope, DW_AT_call_line, &attribute), &call_line);
    file = files != nullptr ? dwarf_filesrc(files, call_file, nullptr, nullptr) : nullptr;
    line = static_cast<int>(call_line);
  }
  std::free(scopes);
  add(frames, return_address, symbol, file, line);
}

}  // namespace

std::vector<std::vector<Frame>> symbolize_return_addresses(
    std::span<const std::uintptr_t> return_addresses) noexcept {
  std::vector<std::vector<Frame>> result;
  try {
    result.resize(return_addresses.size());
    // dwfl_end closes every file the session opened.
    const std::unique_ptr<Dwfl, void (*)(Dwfl*)> dwfl(open_session(), dwfl_end);
    if (dwfl == nullptr) return result;
    for (std::size_t i = 0; i < return_addresses.size(); ++i) {
      symbolize_one(dwfl.get(), return_addresses[i], result[i]);
    }
  } catch (...) {
    // Out of memory: what was symbolized.
  }
  return result;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
