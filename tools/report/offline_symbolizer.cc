// One libdw session per binary, reported with dwfl_report_offline: the binary is placed
// at an address of libdw's choosing, and the report's offset (return address minus the
// load base, i.e. minus where the first segment was mapped) is added to the start
// libdw gives the module.
#include "offline_symbolizer.h"

#include <absl/container/flat_hash_map.h>
#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "trace_rules.h"

namespace restrack::report {
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

std::string to_hex(const unsigned char* bytes, int size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

// The function an inlined-subroutine or subprogram DIE stands for, as the demangler
// spells its linkage name (with parameters), else its plain name.
std::string die_function_name(Dwarf_Die* die) {
  Dwarf_Attribute attribute;
  if (const char* linkage =
          dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attribute))) {
    return demangle(linkage);
  }
  const char* name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attribute));
  return name != nullptr ? std::string(name) : std::string();
}

Frame make_frame(std::string function, const char* file, int line) {
  Frame frame;
  frame.function = std::move(function);
  if (file != nullptr) frame.file = file;
  frame.line = line > 0 ? static_cast<unsigned>(line) : 0;
  tidy_function_name(frame.function);
  tidy_file_name(frame.file);
  return frame;
}

}  // namespace

// The function scopes of one compilation unit, found in one walk of its DIE tree:
// libdw's dwarf_getscopes walks the tree again for every address, which made 10,000
// lookups take half a minute. Scopes are in preorder, so a scope's nested scopes follow
// it up to `end`.
struct UnitScopes {
  struct Scope {
    std::uint32_t first_range = 0;  // into `ranges`
    std::uint32_t last_range = 0;   // one past
    std::uint32_t end = 0;          // index past the scopes nested in this one
    Dwarf_Off die = 0;
    bool inlined = false;
  };
  struct Root {
    Dwarf_Addr low = 0;
    Dwarf_Addr high = 0;
    std::uint32_t scope = 0;
  };
  std::vector<std::pair<Dwarf_Addr, Dwarf_Addr>> ranges;
  std::vector<Scope> scopes;  // subprograms and inlined calls, in preorder
  std::vector<Root> roots;    // the subprograms' ranges, sorted by low
  Dwarf_Files* files = nullptr;

  void collect(Dwarf_Die* parent) {
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) return;
    do {
      const int tag = dwarf_tag(&child);
      if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
        const auto index = static_cast<std::uint32_t>(scopes.size());
        Scope& scope = scopes.emplace_back();
        scope.die = dwarf_dieoffset(&child);
        scope.inlined = tag == DW_TAG_inlined_subroutine;
        scope.first_range = static_cast<std::uint32_t>(ranges.size());
        Dwarf_Addr base = 0;
        Dwarf_Addr low = 0;
        Dwarf_Addr high = 0;
        for (ptrdiff_t at = 0; (at = dwarf_ranges(&child, at, &base, &low, &high)) > 0;) {
          ranges.emplace_back(low, high);
          if (!scope.inlined) roots.push_back(Root{low, high, index});
        }
        scope.last_range = static_cast<std::uint32_t>(ranges.size());
        if (dwarf_haschildren(&child) != 0) collect(&child);
        scopes[index].end = static_cast<std::uint32_t>(scopes.size());
      } else if (dwarf_haschildren(&child) != 0) {
        collect(&child);
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }

  void finish() {
    std::sort(roots.begin(), roots.end(),
              [](const Root& a, const Root& b) { return a.low < b.low; });
  }

  bool contains(const Scope& scope, Dwarf_Addr pc) const {
    for (std::uint32_t r = scope.first_range; r < scope.last_range; ++r) {
      if (pc >= ranges[r].first && pc < ranges[r].second) return true;
    }
    return false;
  }

  // The subprogram containing `pc` and the inlined calls in it that contain `pc`,
  // outermost first; empty when no subprogram does.
  std::vector<const Scope*> chain(Dwarf_Addr pc) const {
    std::vector<const Scope*> out;
    auto it = std::upper_bound(roots.begin(), roots.end(), pc,
                               [](Dwarf_Addr value, const Root& root) { return value < root.low; });
    // Subprograms do not overlap, except the rare one nested in another (a local
    // class's member function): look back a little for one that contains pc.
    const Root* found = nullptr;
    for (int steps = 0; it != roots.begin() && steps < 64; ++steps) {
      --it;
      if (pc >= it->low && pc < it->high) {
        found = &*it;
        break;
      }
    }
    if (found == nullptr) return out;
    const Scope& root = scopes[found->scope];
    out.push_back(&root);
    for (std::uint32_t i = found->scope + 1; i < root.end;) {
      const Scope& scope = scopes[i];
      if (contains(scope, pc)) {
        if (scope.inlined) out.push_back(&scope);
        ++i;  // descend
      } else {
        i = scope.end;  // skip what is nested in it
      }
    }
    return out;
  }
};

struct OfflineSymbolizer::Module {
  Dwfl* session = nullptr;
  Dwfl_Module* module = nullptr;
  Dwarf_Addr start = 0;
  absl::flat_hash_map<std::uint64_t, std::vector<Frame>> cache;
  absl::flat_hash_map<Dwarf_Off, std::unique_ptr<UnitScopes>> units;

  ~Module() {
    if (session != nullptr) dwfl_end(session);
  }

  const UnitScopes& unit_scopes(Dwarf_Die* unit) {
    std::unique_ptr<UnitScopes>& slot = units[dwarf_dieoffset(unit)];
    if (slot == nullptr) {
      slot = std::make_unique<UnitScopes>();
      slot->collect(unit);
      slot->finish();
      if (dwarf_getsrcfiles(unit, &slot->files, nullptr) != 0) slot->files = nullptr;
    }
    return *slot;
  }

  std::vector<Frame> lookup(std::uint64_t offset) {
    std::vector<Frame> frames;
    if (offset == 0) return frames;
    // The return address follows the call; its last byte is the call, whose line the
    // user wants.
    const Dwarf_Addr call = start + offset - 1;
    const char* file = nullptr;
    int line = 0;
    if (Dwfl_Line* source = dwfl_module_getsrc(module, call)) {
      file = dwfl_lineinfo(source, nullptr, &line, nullptr, nullptr, nullptr);
    }
    const char* symbol = dwfl_module_addrname(module, call);
    Dwarf_Addr bias = 0;
    Dwarf_Die* unit = dwfl_module_addrdie(module, call, &bias);
    if (unit != nullptr) {
      const UnitScopes& scopes = unit_scopes(unit);
      const std::vector<const UnitScopes::Scope*> chain = scopes.chain(call - bias);
      Dwarf* dwarf = dwfl_module_getdwarf(module, &bias);
      // Innermost first: an inlined call is a frame at the current file:line, and the
      // next frame out stands at its call site.
      for (std::size_t i = chain.size(); i-- > 1;) {
        Dwarf_Die die;
        if (dwarf == nullptr || dwarf_offdie(dwarf, chain[i]->die, &die) == nullptr) break;
        frames.push_back(make_frame(die_function_name(&die), file, line));
        Dwarf_Attribute attribute;
        Dwarf_Word call_file = 0;
        Dwarf_Word call_line = 0;
        dwarf_formudata(dwarf_attr(&die, DW_AT_call_file, &attribute), &call_file);
        dwarf_formudata(dwarf_attr(&die, DW_AT_call_line, &attribute), &call_line);
        file = scopes.files != nullptr ? dwarf_filesrc(scopes.files, call_file, nullptr, nullptr)
                                       : nullptr;
        line = static_cast<int>(call_line);
      }
    }
    if (symbol != nullptr || file != nullptr) {
      frames.push_back(make_frame(demangle(symbol), file, line));
    }
    return frames;
  }
};

struct OfflineSymbolizer::State {
  // Keyed by recorded path and build id; nullptr when the module cannot be used.
  absl::flat_hash_map<std::string, std::unique_ptr<Module>> modules;
  std::vector<Frame> none;
};

OfflineSymbolizer::OfflineSymbolizer(std::vector<std::string> search_path)
    : search_path_(std::move(search_path)), state_(std::make_unique<State>()) {}

OfflineSymbolizer::~OfflineSymbolizer() = default;

std::size_t OfflineSymbolizer::addresses() const {
  std::size_t total = 0;
  for (const auto& [key, module] : state_->modules) {
    if (module != nullptr) total += module->cache.size();
  }
  return total;
}

OfflineSymbolizer::Module* OfflineSymbolizer::module_for(const std::string& path,
                                                         const std::string& build_id) {
  std::string key = path;
  key.append("\n").append(build_id);
  const auto found = state_->modules.find(key);
  if (found != state_->modules.end()) return found->second.get();
  std::unique_ptr<Module>& slot = state_->modules[key];

  static const Dwfl_Callbacks callbacks = {nullptr, dwfl_standard_find_debuginfo,
                                           dwfl_offline_section_address, nullptr};
  const std::string name = std::filesystem::path(path).filename().string();
  std::vector<std::string> candidates;
  for (const std::string& directory : search_path_) {
    candidates.push_back((std::filesystem::path(directory) / name).string());
  }
  candidates.push_back(path);
  std::vector<std::string> looked;
  std::string mismatches;
  for (const std::string& candidate : candidates) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(candidate, ec)) {
      looked.push_back(candidate);
      continue;
    }
    auto module = std::make_unique<Module>();
    module->session = dwfl_begin(&callbacks);
    if (module->session == nullptr) break;
    dwfl_report_begin(module->session);
    module->module = dwfl_report_offline(module->session, name.c_str(), candidate.c_str(), -1);
    dwfl_report_end(module->session, nullptr, nullptr);
    if (module->module == nullptr) {
      notes_.push_back("cannot read " + candidate + ": " + dwfl_errmsg(-1) + "; frames of " + path +
                       " stay module+offset");
      return nullptr;
    }
    const unsigned char* bits = nullptr;
    GElf_Addr note_address = 0;
    const int size = dwfl_module_build_id(module->module, &bits, &note_address);
    const std::string found_id = size > 0 ? to_hex(bits, size) : std::string();
    if (!build_id.empty() && found_id != build_id) {
      mismatches.append(mismatches.empty() ? "" : ", ")
          .append(candidate)
          .append(" has build id ")
          .append(found_id.empty() ? "(none)" : found_id);
      continue;
    }
    dwfl_module_info(module->module, nullptr, &module->start, nullptr, nullptr, nullptr, nullptr,
                     nullptr);
    slot = std::move(module);
    return slot.get();
  }
  if (!mismatches.empty()) {
    notes_.push_back("build id mismatch for " + path + ": the report has " + build_id + ", " +
                     mismatches + "; its frames stay module+offset");
  } else {
    std::string list;
    for (const std::string& candidate : looked)
      list.append(list.empty() ? "" : ", ").append(candidate);
    notes_.push_back("no binary for " + path + " (looked for " + list +
                     "); its frames stay module+offset");
  }
  return nullptr;
}

const std::vector<Frame>& OfflineSymbolizer::symbolize(const std::string& module,
                                                       const std::string& build_id,
                                                       std::uint64_t offset) {
  Module* found = module_for(module, build_id);
  if (found == nullptr) return state_->none;
  auto [entry, inserted] = found->cache.try_emplace(offset);
  if (inserted) entry->second = found->lookup(offset);
  return entry->second;
}

void symbolize_report(Report& report, OfflineSymbolizer& symbolizer) {
  for (Trace& trace : report.traces) {
    bool raw = false;
    for (const Frame& frame : trace) raw = raw || (!frame.symbolized() && !frame.module.empty());
    if (!raw) continue;
    Trace expanded;
    expanded.reserve(trace.size() * 2);
    for (Frame& frame : trace) {
      if (frame.symbolized() || frame.module.empty()) {
        expanded.push_back(std::move(frame));
        continue;
      }
      const std::vector<Frame>& found =
          symbolizer.symbolize(frame.module, frame.build_id, frame.offset);
      if (found.empty()) {
        expanded.push_back(std::move(frame));
        continue;
      }
      for (const Frame& symbol : found) {
        Frame& out = expanded.emplace_back(symbol);
        out.address = frame.address;
        out.module = frame.module;
        out.build_id = frame.build_id;
        out.offset = frame.offset;
      }
    }
    trace = finish_trace(std::move(expanded), report.trace_depth);
  }
  // Version 2 does not repeat the location of a resource open at exit; like the
  // tracker, take it from where it was allocated.
  const auto locate = [&](Problem& problem) {
    if (!problem.location.empty()) return;
    const TraceIndex where =
        problem.type == ProblemType::open_at_exit ? problem.allocation : problem.site;
    for (const Frame& frame : report.traces[where]) {
      if (!frame.file.empty()) {
        problem.location = frame.file + ":" + std::to_string(frame.line);
        return;
      }
    }
    problem.location = "<unknown>";
  };
  for (Problem& problem : report.problems) locate(problem);
  for (Problem& problem : report.live) locate(problem);
}

}  // namespace restrack::report
