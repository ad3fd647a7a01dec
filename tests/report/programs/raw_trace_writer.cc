// Child program: a process whose report carries only module + offset, as a v2 report
// written where symbols could not be read. It leaks two widgets through a std::function
// (library frames between user frames), the second through an inlined helper, lets the
// tracker print the live warnings on stderr, and writes, to argv[1], a schema v2 report
// whose frames are every captured return address with empty function, file and line.
// The test symbolizes that report in another process and compares with the warnings.
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "restrack/diagnostic.h"
#include "restrack/options.h"
#include "restrack/trace.h"
#include "widget.h"

namespace {

class Collector : public restrack::DiagnosticHandler {
 public:
  void on_diagnostic(const restrack::Diagnostic& diagnostic) noexcept override {
    diagnostics.push_back(diagnostic);
  }
  std::vector<restrack::Diagnostic> diagnostics;
};

[[gnu::noinline]] void drop_widget(const char* name) {
  Widget widget(name);  // marker: raw drop_widget
}

[[gnu::always_inline]] inline void make_and_drop(const char* name) {
  Widget widget(name);  // marker: raw make_and_drop
}

void serve(const std::function<void()>& work) {
  work();  // marker: raw serve
}

std::string hex(std::uintptr_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%zx", static_cast<std::size_t>(value));
  return buffer;
}

// Build ids of the loaded objects, by the name the dynamic linker knows them by ("" for
// the main program), read from their PT_NOTE segments.
std::map<std::string, std::string> build_ids() {
  std::map<std::string, std::string> ids;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto& out = *static_cast<std::map<std::string, std::string>*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& segment = info->dlpi_phdr[i];
          if (segment.p_type != PT_NOTE) continue;
          const char* at = reinterpret_cast<const char*>(info->dlpi_addr + segment.p_vaddr);
          const char* end = at + segment.p_memsz;
          while (at + sizeof(ElfW(Nhdr)) <= end) {
            const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(at);
            const char* name = at + sizeof(ElfW(Nhdr));
            const auto* desc =
                reinterpret_cast<const unsigned char*>(name + ((note->n_namesz + 3) & ~3U));
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                std::memcmp(name, "GNU", 4) == 0) {
              std::string id;
              char byte[3];
              for (unsigned b = 0; b < note->n_descsz; ++b) {
                std::snprintf(byte, sizeof byte, "%02x", desc[b]);
                id += byte;
              }
              out[info->dlpi_name] = id;
            }
            at = reinterpret_cast<const char*>(desc) + ((note->n_descsz + 3) & ~3U);
          }
        }
        return 0;
      },
      &ids);
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  Collector collector;
  restrack::add_handler(&collector);
  serve([] { drop_widget("plain"); });      // marker: raw main plain
  serve([] { make_and_drop("inlined"); });  // marker: raw main inlined
  restrack::remove_handler(&collector);

  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  const std::string program(self, n > 0 ? static_cast<std::size_t>(n) : 0);
  const std::map<std::string, std::string> ids = build_ids();
  std::map<std::string, std::size_t> module_ids;
  boost::json::array modules;
  boost::json::array traces;
  boost::json::array diagnostics;
  for (const restrack::Diagnostic& d : collector.diagnostics) {
    boost::json::array frames;
    for (const std::uintptr_t address : restrack::trace_addresses(d.allocation_trace)) {
      Dl_info info{};
      link_map* map = nullptr;
      if (dladdr1(reinterpret_cast<void*>(address), &info, reinterpret_cast<void**>(&map),
                  RTLD_DL_LINKMAP) == 0) {
        continue;
      }
      const std::string linker_name = map->l_name;
      const std::string path = linker_name.empty() ? program : std::string(info.dli_fname);
      auto [slot, added] = module_ids.try_emplace(path, module_ids.size());
      if (added) {
        const auto id = ids.find(linker_name);
        modules.push_back(
            boost::json::object{{"id", slot->second},
                                {"path", path},
                                {"build_id", id != ids.end() ? id->second : std::string()}});
      }
      frames.push_back(boost::json::object{
          {"address", hex(address)},
          {"module", slot->second},
          {"offset", hex(address - reinterpret_cast<std::uintptr_t>(info.dli_fbase))},
          {"function", ""},
          {"file", ""},
          {"line", 0}});
    }
    const std::size_t trace_id = traces.size() + 1;
    traces.push_back(boost::json::object{{"id", trace_id}, {"frames", std::move(frames)}});
    diagnostics.push_back(boost::json::object{{"type", restrack::to_string(d.type)},
                                              {"kind", d.kind},
                                              {"description", d.description},
                                              {"thread", d.thread_id},
                                              {"age_ns", d.age.count()},
                                              {"serial", d.serial},
                                              {"location", restrack::format_location(d.site_trace)},
                                              {"allocation_trace", trace_id}});
  }
  const boost::json::object report{
      {"schema", "restrack-report"},
      {"version", 2},
      {"pid", static_cast<int>(::getpid())},
      {"program", program},
      {"options", boost::json::object{{"trace_depth", restrack::current_options().trace_depth}}},
      {"counts", boost::json::object{{"dispatched", diagnostics.size()}}},
      {"modules", std::move(modules)},
      {"traces", std::move(traces)},
      {"diagnostics", std::move(diagnostics)},
      {"live", boost::json::array{}}};
  std::FILE* out = std::fopen(argv[1], "w");
  if (out == nullptr) return 3;
  const std::string text = boost::json::serialize(report) + "\n";
  std::fwrite(text.data(), 1, text.size(), out);
  return std::fclose(out) == 0 ? 0 : 3;
}
