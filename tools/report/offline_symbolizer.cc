// One libdw session per binary, reported with dwfl_report_offline: the binary is placed
// at an address of libdw's choosing, and the report's offset (return address minus the
// load base, i.e. minus where the first segment was mapped) is added to the start
// libdw gives the module.
#include "offline_symbolizer.h"

#include <absl/container/flat_hash_map.h>
#include <absl/strings/escaping.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <filesystem>
#include <utility>

#include "dwarf_scopes.h"
#include "trace_rules.h"

namespace restrack::report {
namespace {

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

struct OfflineSymbolizer::Module {
  Dwfl* session = nullptr;
  Dwfl_Module* module = nullptr;
  Dwarf_Addr start = 0;
  absl::flat_hash_map<std::uint64_t, std::vector<Frame>> cache;
  dwarf_scopes::UnitIndex units;

  ~Module() {
    if (session != nullptr) dwfl_end(session);
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
    if (Dwarf_Die* unit = dwfl_module_addrdie(module, call, &bias)) {
      for (dwarf_scopes::InlinedFrame& inlined :
           units.of(unit).inlined_frames(call - bias, file, line)) {
        frames.push_back(make_frame(std::move(inlined.function), inlined.file, inlined.line));
      }
    }
    if (symbol != nullptr || file != nullptr) {
      frames.push_back(make_frame(dwarf_scopes::demangle(symbol), file, line));
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
    const std::string found_id =
        size > 0 ? absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bits),
                                                            static_cast<std::size_t>(size)))
                 : std::string();
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
