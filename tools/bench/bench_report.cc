// restrack-report's two costs that grow with a CI run (issue 13, docs/PERFORMANCE.md):
//   BM_MergeReports       read 1,000 reports holding 100,000 diagnostics from files, parse,
//                         and group them into sites (goal: <= 2 s)
//   BM_SymbolizeOffline   symbolize 10,000 distinct addresses of a real binary from its
//                         DWARF, cold cache (goal: <= 1 s)
#include <benchmark/benchmark.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "merge.h"
#include "offline_symbolizer.h"
#include "reader.h"

namespace {

namespace fs = std::filesystem;
using restrack::report::Merged;

constexpr int kReports = 1'000;
constexpr int kDiagnosticsPerReport = 100;
constexpr int kTraces = 2'000;  // distinct allocation traces in the whole run
constexpr int kFrames = 8;

// A report as a test shard writes it: 100 diagnostics over traces drawn from the run's
// 2,000, each trace 8 symbolized frames; four traces share each first frame.
std::string make_report(int index, int version) {
  namespace json = boost::json;
  const char* kinds[] = {"socket", "handle", "pipe", "transport", "task"};
  json::array modules{json::object{{"id", 0}, {"path", "/ci/build/tests/shard"}, {"build_id", ""}}};
  json::array traces;
  json::array diagnostics;
  const auto frames = [&](int trace, bool inline_module) {
    json::array out;
    for (int f = 0; f < kFrames; ++f) {
      const int function = f == 0 ? trace / 4 : trace * kFrames + f;
      json::object frame{{"address", "0x55d0c1a2b3c4"},
                         {"offset", "0x2b3c4"},
                         {"function", "app::function_" + std::to_string(function) + "(int)"},
                         {"file", "src/file_" + std::to_string(function % 97) + ".cc"},
                         {"line", 10 + function % 300}};
      if (inline_module) {
        frame["module"] = "/ci/build/tests/shard";
      } else {
        frame["module"] = 0;
      }
      out.push_back(std::move(frame));
    }
    return out;
  };
  for (int d = 0; d < kDiagnosticsPerReport; ++d) {
    const int trace = (index * 7 + d * 13) % kTraces;
    json::object diagnostic{
        {"type", "unclosed"},
        {"kind", kinds[trace % 5]},
        {"description", "fd=" + std::to_string(d + 3)},
        {"thread", 4242},
        {"age_ns", 1'000'000},
        {"serial", d + 1},
        {"location", "src/file_1.cc:31"},
        {"test", "Suite" + std::to_string(d % 10) + ".Test" + std::to_string(index % 50)}};
    if (version == 1) {
      diagnostic["allocation_trace"] = frames(trace, true);
    } else {
      traces.push_back(json::object{{"id", d + 1}, {"frames", frames(trace, false)}});
      diagnostic["allocation_trace"] = d + 1;
    }
    diagnostics.push_back(std::move(diagnostic));
  }
  json::object report{{"schema", "restrack-report"},
                      {"version", version},
                      {"pid", 1000 + index},
                      {"program", "/ci/build/tests/shard"},
                      {"options", json::object{{"trace_depth", 16}}},
                      {"counts", json::object{{"dispatched", kDiagnosticsPerReport}}},
                      {"diagnostics", std::move(diagnostics)},
                      {"live", json::array{}}};
  if (version == 2) {
    report["modules"] = std::move(modules);
    report["traces"] = std::move(traces);
  }
  return json::serialize(report);
}

// The CI run's reports, written once per schema version to a temporary folder.
const std::vector<std::string>& report_files(int version) {
  static std::vector<std::string> files[3];
  std::vector<std::string>& out = files[version];
  if (out.empty()) {
    const fs::path dir =
        fs::temp_directory_path() /
        ("restrack_bench_reports_v" + std::to_string(version) + "_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    for (int i = 0; i < kReports; ++i) {
      const std::string path = (dir / ("shard-" + std::to_string(i) + ".json")).string();
      std::ofstream(path) << make_report(i, version);
      out.push_back(path);
    }
  }
  return out;
}

void merge_reports(benchmark::State& state, int version) {
  const std::vector<std::string>& files = report_files(version);
  std::uintmax_t bytes = 0;
  for (const std::string& file : files) bytes += fs::file_size(file);
  for (auto _ : state) {
    Merged merged;
    // As the tool reads them: on two threads (this machine has two cores).
    restrack::report::ReadReports read = restrack::report::read_report_files(files, 2);
    if (!read.skipped.empty()) {
      state.SkipWithError(read.skipped.front().error.c_str());
      return;
    }
    merged.reports = std::move(read.reports);
    restrack::report::group_sites(merged, {});
    if (merged.problems != kReports * kDiagnosticsPerReport) state.SkipWithError("lost problems");
    benchmark::DoNotOptimize(merged.sites.data());
    state.counters["sites"] = static_cast<double>(merged.sites.size());
  }
  state.counters["MB_read"] = static_cast<double>(bytes) / 1e6;
}

void BM_MergeReports(benchmark::State& state) { merge_reports(state, 2); }
BENCHMARK(BM_MergeReports)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

void BM_MergeReportsV1(benchmark::State& state) { merge_reports(state, 1); }
BENCHMARK(BM_MergeReportsV1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

// 10,000 distinct return-address offsets inside the functions of this very binary (built
// with debug information), spread over all of them.
std::vector<std::uint64_t> code_offsets(const std::string& binary) {
  static const Dwfl_Callbacks callbacks = {nullptr, dwfl_standard_find_debuginfo,
                                           dwfl_offline_section_address, nullptr};
  Dwfl* dwfl = dwfl_begin(&callbacks);
  dwfl_report_begin(dwfl);
  Dwfl_Module* module = dwfl_report_offline(dwfl, "self", binary.c_str(), -1);
  dwfl_report_end(dwfl, nullptr, nullptr);
  Dwarf_Addr start = 0;
  dwfl_module_info(module, nullptr, &start, nullptr, nullptr, nullptr, nullptr, nullptr);
  std::vector<std::pair<GElf_Addr, GElf_Xword>> functions;
  const int count = dwfl_module_getsymtab(module);
  for (int i = 0; i < count; ++i) {
    GElf_Sym symbol;
    GElf_Addr address = 0;
    if (dwfl_module_getsym_info(module, i, &symbol, &address, nullptr, nullptr, nullptr) &&
        GELF_ST_TYPE(symbol.st_info) == STT_FUNC && symbol.st_size > 8) {
      functions.emplace_back(address, symbol.st_size);
    }
  }
  std::vector<std::uint64_t> offsets;
  std::set<std::uint64_t> seen;  // aliases (a constructor's C1 and C2) share addresses
  for (GElf_Xword step = 4; offsets.size() < 10'000 && step < 4096; step += 8) {
    for (const auto& [address, size] : functions) {
      const std::uint64_t offset = address + step - start + 1;
      if (step < size && offsets.size() < 10'000 && seen.insert(offset).second) {
        offsets.push_back(offset);
      }
    }
  }
  dwfl_end(dwfl);
  return offsets;
}

void BM_SymbolizeOffline(benchmark::State& state) {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  const std::string binary(self, n > 0 ? static_cast<std::size_t>(n) : 0);
  const std::vector<std::uint64_t> offsets = code_offsets(binary);
  if (offsets.size() != 10'000) {
    state.SkipWithError("fewer than 10,000 code addresses");
    return;
  }
  std::size_t with_lines = 0;
  for (auto _ : state) {
    restrack::report::OfflineSymbolizer symbolizer({});
    with_lines = 0;
    for (const std::uint64_t offset : offsets) {
      const auto& frames = symbolizer.symbolize(binary, "", offset);
      with_lines += !frames.empty() && frames.back().line != 0;
    }
    if (symbolizer.addresses() != offsets.size()) state.SkipWithError("addresses not distinct");
  }
  state.counters["with_lines"] = static_cast<double>(with_lines);
}
BENCHMARK(BM_SymbolizeOffline)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
