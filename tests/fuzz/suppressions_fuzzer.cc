// libFuzzer target: any bytes as a suppressions file, loaded and then matched against a
// real, symbolized trace. Loading and matching must return quickly whatever the rules:
// RE2 guarantees linear time and bounded stack.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "restrack/diagnostic.h"
#include "restrack/kind.h"
#include "restrack/trace.h"
#include "settings.h"
#include "suppressions_internal.h"

namespace {

const std::string& rules_path() {
  static const std::string path = "/tmp/restrack-suppressions-fuzz-" + std::to_string(::getpid());
  return path;
}

restrack::TraceId sample_trace() {
  static const restrack::TraceId trace = restrack::capture_trace();
  return trace;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (std::FILE* file = std::fopen(rules_path().c_str(), "wb")) {
    std::fwrite(data, 1, size, file);
    std::fclose(file);
  }
  std::vector<std::string> errors;
  const std::uint64_t generation = restrack::internal::settings_generation();
  restrack::internal::load_suppressions(rules_path(), generation, &errors);
  restrack::Diagnostic diagnostic;
  diagnostic.kind = restrack::kinds::socket.name;
  diagnostic.allocation_trace = sample_trace();
  static_cast<void>(restrack::internal::is_suppressed(diagnostic));
  return 0;
}
