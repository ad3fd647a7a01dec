// libFuzzer target: any bytes as a RESTRACK_OPTIONS string. The parser must return (no
// crash, no hang), and every problem must come back as one message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "restrack/options.h"
#include "settings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> errors;
  const restrack::Options parsed = restrack::parse_options(text, restrack::Options{}, &errors);
  const restrack::Options checked =
      restrack::internal::validated(parsed, restrack::Options{}, &errors);
  // What the parser accepted is in range.
  if (checked.trace_depth < 0 || checked.trace_depth > restrack::kMaxTraceDepth) __builtin_trap();
  if (checked.exit_code < 0 || checked.exit_code > 255) __builtin_trap();
  for (const std::string& error : errors) {
    if (error.empty()) __builtin_trap();
  }
  return 0;
}
