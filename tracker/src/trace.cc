// Symbolized traces as users read them, and their text form.
#include <absl/container/flat_hash_map.h>
#include <absl/synchronization/mutex.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "no_destructor.h"
#include "platform.h"
#include "restrack/diagnostic.h"
#include "restrack/trace.h"
#include "runtime.h"
#include "stack_depot.h"
#include "symbolizer.h"

RESTRACK_NAMESPACE_BEGIN
namespace {

struct SymbolCache {
  absl::Mutex mutex;
  // Per return address, its frames innermost first (several when calls were inlined).
  absl::flat_hash_map<std::uintptr_t, std::vector<Frame>> frames;
};

SymbolCache& symbol_cache() {
  static internal::NoDestructor<SymbolCache> cache;
  return *cache;
}

// The inline ABI namespace is an implementation detail; users read restrack::Foo.
void strip_abi_namespace(std::string& name) {
  static constexpr std::string_view kInline[] = {"tracking_on::", "tracking_off::"};
  for (std::string_view needle : kInline) {
    for (std::size_t at = name.find(needle); at != std::string::npos; at = name.find(needle, at)) {
      name.erase(at, needle.size());
    }
  }
}

// GCC names a coroutine's body "f(f(ARGS)::_Z...Frame*) [clone .actor]"; users wrote
// f(ARGS). Also spells the standard string type as users do.
void simplify_function_name(std::string& name) {
  static constexpr std::string_view kActor = " [clone .actor]";
  const std::size_t frame_type = name.rfind("::_Z");
  if (name.ends_with(kActor) && frame_type != std::string::npos) {
    for (std::size_t open = name.find('('); open < frame_type; open = name.find('(', open + 1)) {
      const std::string_view outer(name.data(), open);
      if (open > 0 && std::string_view(name).substr(open + 1).starts_with(outer)) {
        name = name.substr(open + 1, frame_type - open - 1) + " [coroutine]";
        break;
      }
    }
  }
  static constexpr std::string_view kLongString =
      "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >";
  for (std::size_t at = name.find(kLongString); at != std::string::npos;
       at = name.find(kLongString, at)) {
    name.replace(at, kLongString.size(), "std::string");
  }
}

// The qualified name of the function a demangled signature names: the return type of
// a template function and the parameter list are left out.
std::string_view qualified_name(std::string_view signature) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < signature.size(); ++i) {
    const char c = signature[i];
    if (c == '<') {
      ++depth;
    } else if (c == '>') {
      --depth;
    } else if (c == '(' && depth == 0) {
      if (signature.substr(0, i).ends_with("operator")) continue;
      return signature.substr(start, i - start);
    } else if (c == ' ' && depth == 0) {
      start = i + 1;
    }
  }
  return signature.substr(start);
}

// restrack's own frames and the standard-library frames they run through (std::function,
// coroutine resumption, std::make_unique): a trace the user reads shows none of them.
// find_last_of gives npos for a bare name, and npos + 1 is 0: the whole name.
bool is_library_frame(const Frame& frame) {
  const std::string_view name = qualified_name(frame.function);
  if (name.starts_with("restrack::") || name.starts_with("std::") ||
      name.starts_with("__gnu_cxx::")) {
    return true;
  }
  // A sanitizer runtime's interceptors (ThreadSanitizer runs static destructors from
  // its own exit hook) are not the user's code either.
  const std::string_view module = frame.module;
  const std::string_view file = module.substr(module.find_last_of('/') + 1);
  return file.starts_with("libasan") || file.starts_with("libtsan") ||
         file.starts_with("libubsan") || file.starts_with("liblsan") ||
         file.starts_with("libhwasan") || file.starts_with("libclang_rt.");
}

}  // namespace

TraceId capture_trace() noexcept {
  const internal::HotSettings settings = internal::hot_settings();
  if (!RESTRACK_TRACKING || !settings.enabled) return kNoTrace;
  return internal::capture_with_depth(settings.trace_depth, settings.capture);
}

std::span<const std::uintptr_t> trace_addresses(TraceId id) noexcept {
  return internal::depot_frames(id);
}

namespace {

// Symbolizes what the cache lacks of `addresses` in one batch. Called with the lock held.
void fill_cache(SymbolCache& cache, std::span<const std::uintptr_t> addresses) {
  std::vector<std::uintptr_t> missing;
  for (std::uintptr_t address : addresses) {
    if (!cache.frames.contains(address)) missing.push_back(address);
  }
  if (missing.empty()) return;
  std::vector<std::vector<Frame>> symbolized = internal::symbolize_return_addresses(missing);
  symbolized.resize(missing.size());
  for (std::size_t i = 0; i < missing.size(); ++i) {
    const std::uintptr_t address = missing[i];
    std::vector<Frame>& frames = symbolized[i];
    if (frames.empty()) frames.emplace_back().address = address;
    const internal::ModuleInfo module = internal::module_of(address);
    for (Frame& frame : frames) {
      frame.module = module.path;
      frame.offset = address - module.base;
      strip_abi_namespace(frame.function);
      simplify_function_name(frame.function);
      // "src/../include/x.h" reads better as "include/x.h".
      if (frame.file.find("..") != std::string::npos ||
          frame.file.find("./") != std::string::npos) {
        frame.file = std::filesystem::path(frame.file).lexically_normal().string();
      }
    }
    cache.frames.emplace(address, std::move(frames));
  }
}

}  // namespace

std::vector<Frame> symbolize_address(std::uintptr_t address) noexcept {
  SymbolCache& cache = symbol_cache();
  absl::MutexLock lock(&cache.mutex);
  try {
    fill_cache(cache, std::span<const std::uintptr_t>(&address, 1));
    const auto found = cache.frames.find(address);
    return found != cache.frames.end() ? found->second : std::vector<Frame>();
  } catch (...) {
    return {};
  }
}

std::vector<Frame> symbolize_trace(TraceId id) noexcept {
  std::vector<Frame> frames;
  try {
    const auto addresses = internal::depot_frames(id);
    {
      SymbolCache& cache = symbol_cache();
      absl::MutexLock lock(&cache.mutex);
      fill_cache(cache, addresses);
    }
    bool reached_main = false;
    for (std::uintptr_t address : addresses) {
      for (Frame& frame : symbolize_address(address)) {
        // restrack's frames say nothing about the user's code wherever they are: before
        // it (the owner's constructor) or between its frames (an event loop running a
        // task).
        if (is_library_frame(frame)) continue;
        reached_main = frame.function == "main";
        frames.push_back(std::move(frame));
        if (reached_main) break;
      }
      if (reached_main) break;  // what runs before main is noise to the reader
    }
    // Past the last frame with a source line lie the C library's thread and process
    // entry points; keep them only if nothing has a line.
    auto last_with_file = std::find_if(frames.rbegin(), frames.rend(),
                                       [](const Frame& f) { return !f.file.empty(); });
    if (last_with_file != frames.rend()) frames.erase(last_with_file.base(), frames.end());
    const auto depth = static_cast<std::size_t>(internal::hot_settings().trace_depth);
    const std::size_t keep = std::max<std::size_t>(depth, 1);
    if (frames.size() > keep) frames.resize(keep);
  } catch (...) {
    // Out of memory: what was symbolized so far.
  }
  return frames;
}

std::string format_trace(TraceId id) noexcept {
  try {
    std::string text;
    int index = 0;
    for (const Frame& frame : symbolize_trace(id)) {
      text.append("  #").append(std::to_string(index++)).append(" ");
      if (!frame.function.empty()) {
        text += frame.function;
      } else {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "0x%zx", static_cast<std::size_t>(frame.address));
        text += buffer;
      }
      if (!frame.file.empty()) {
        text.append(" at ").append(frame.file).append(":").append(std::to_string(frame.line));
      } else if (!frame.module.empty()) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "+0x%zx", static_cast<std::size_t>(frame.offset));
        text.append(" in ").append(frame.module).append(buffer);
      }
      text += '\n';
    }
    return text;
  } catch (...) {
    return {};
  }
}

std::string format_location(TraceId id) noexcept {
  try {
    for (const Frame& frame : symbolize_trace(id)) {
      // Destroyed by the exit machinery, with no user frame in between (a static
      // object): the C library's source line would only mislead.
      if (internal::is_process_exit_frame(frame.function)) return "<exit>";
      if (!frame.file.empty()) return frame.file + ":" + std::to_string(frame.line);
    }
  } catch (...) {
  }
  return "<unknown>";
}

RESTRACK_NAMESPACE_END

RESTRACK_NAMESPACE_BEGIN

std::string format_return_address_location(std::uintptr_t return_address) noexcept {
  try {
    for (const Frame& frame : symbolize_address(return_address)) {
      if (!is_library_frame(frame) && !frame.file.empty()) {
        return frame.file + ":" + std::to_string(frame.line);
      }
    }
  } catch (...) {
  }
  return "<unknown>";
}

RESTRACK_NAMESPACE_END
