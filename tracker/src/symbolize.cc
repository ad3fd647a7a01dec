#include "symbolize.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "no_destructor.h"
#include "settings.h"
#include "shared/abi_namespace.h"
#include "stack_depot.h"
#include "symbolizer.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

struct SymbolCache {
  std::mutex mutex;
  // Per return address, its frames innermost first (several when calls were inlined).
  absl::flat_hash_map<std::uintptr_t, std::vector<Frame>> frames;
  // Per module load base: path and build id.
  absl::flat_hash_map<std::uintptr_t, ModuleInfo> modules;
  // Return addresses in the C library, left out of batches (prepare_symbols).
  absl::flat_hash_set<std::uintptr_t> deferred;
};

SymbolCache& symbol_cache() noexcept {
  static NoDestructor<SymbolCache> cache;
  return *cache;
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

ModuleInfo module_locked(SymbolCache& cache, std::uintptr_t address) {
  ModuleInfo found = module_of(address);
  if (found.base == 0) return found;
  const auto known = cache.modules.find(found.base);
  if (known != cache.modules.end() && known->second.path == found.path) return known->second;
  cache.modules[found.base] = found;
  return found;
}

// The C library and the dynamic loader, by file name.
bool is_c_library(std::string_view path) noexcept {
  const std::string_view file = path.substr(path.find_last_of('/') + 1);
  return file.starts_with("libc.so") || file.starts_with("ld-linux");
}

// Symbolizes what the cache lacks of `addresses` in one batch. Called with the lock held.
void fill_cache(SymbolCache& cache, std::span<const std::uintptr_t> addresses) {
  std::vector<std::uintptr_t> missing;
  for (std::uintptr_t address : addresses) {
    if (!cache.frames.contains(address) &&
        std::find(missing.begin(), missing.end(), address) == missing.end()) {
      missing.push_back(address);
    }
  }
  if (missing.empty()) return;
  std::vector<SymbolizedAddress> symbolized = symbolize_return_addresses(missing);
  symbolized.resize(missing.size());
  for (std::size_t i = 0; i < missing.size(); ++i) {
    const std::uintptr_t address = missing[i];
    std::vector<Frame>& frames = symbolized[i].frames;
    if (frames.empty()) frames.emplace_back().address = address;
    const ModuleInfo module = module_locked(cache, address);
    for (Frame& frame : frames) {
      frame.module = module.path;
      frame.offset = address - module.base;
      names::strip_abi_namespace(frame.function);
      simplify_function_name(frame.function);
      // "src/../include/x.h" reads better as "include/x.h".
      if (frame.file.find("..") != std::string::npos ||
          frame.file.find("./") != std::string::npos) {
        frame.file = std::filesystem::path(frame.file).lexically_normal().string();
      }
    }
    // A failure that may pass (no descriptors left) is not remembered.
    if (symbolized[i].final) cache.frames.emplace(address, std::move(frames));
  }
}

// The frames of `address`, symbolizing it if needed.
std::vector<Frame> frames_of(SymbolCache& cache, std::uintptr_t address) {
  const auto found = cache.frames.find(address);
  if (found != cache.frames.end()) return found->second;
  fill_cache(cache, std::span<const std::uintptr_t>(&address, 1));
  const auto now = cache.frames.find(address);
  if (now != cache.frames.end()) return now->second;
  // Not cached (a transient failure): at least the address and module.
  std::vector<Frame> unresolved(1);
  unresolved[0].address = address;
  const ModuleInfo module = module_locked(cache, address);
  unresolved[0].module = module.path;
  unresolved[0].offset = address - module.base;
  return unresolved;
}

}  // namespace

std::string_view qualified_name(std::string_view signature) noexcept {
  std::string_view text = signature;
  // Suffixes after the parameter list: " [clone .actor]", " const", " &&", " noexcept".
  while (true) {
    if (text.ends_with("]")) {
      const std::size_t open = text.rfind(" [");
      if (open == std::string_view::npos) break;
      text = text.substr(0, open);
    } else if (text.ends_with(" const")) {
      text.remove_suffix(6);
    } else if (text.ends_with(" volatile") || text.ends_with(" noexcept")) {
      text.remove_suffix(9);
    } else if (text.ends_with(" &&")) {
      text.remove_suffix(3);
    } else if (text.ends_with(" &")) {
      text.remove_suffix(2);
    } else {
      break;
    }
  }
  if (!text.ends_with(")")) return text;  // a plain name: "main", "__libc_start_main"
  // The parameter list: the '(' matching the final ')'.
  std::size_t at = text.size() - 1;
  int depth = 0;
  for (;; --at) {
    if (text[at] == ')') ++depth;
    if (text[at] == '(' && --depth == 0) break;
    if (at == 0) return signature;
  }
  const std::size_t name_end = at;
  // The name: back to a space outside any brackets (the return type ends there). Spaces
  // inside template arguments, lambda names and decltype are skipped by the depth count;
  // "operator< <T>" keeps its space.
  depth = 0;
  std::size_t start = name_end;
  while (start > 0) {
    const char c = text[start - 1];
    if (c == '>' || c == ')' || c == '}') {
      ++depth;
    } else if (c == '<' || c == '(' || c == '{') {
      --depth;
    } else if (c == ' ' && depth <= 0) {
      const std::string_view before = text.substr(0, start - 1);
      const std::size_t word = before.find_last_of(" :");
      const std::string_view last = before.substr(word == std::string_view::npos ? 0 : word + 1);
      if (!last.starts_with("operator")) break;
    }
    --start;
  }
  return text.substr(start, name_end - start);
}

bool is_library_frame(const Frame& frame) noexcept {
  const std::string_view name = qualified_name(frame.function);
  if (name.starts_with("restrack::") || name.starts_with("std::") ||
      name.starts_with("__gnu_cxx::") || name.starts_with("__cxxabiv1::")) {
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

void prepare_symbols(std::initializer_list<TraceId> traces) noexcept {
  try {
    SymbolCache& cache = symbol_cache();
    std::lock_guard lock(cache.mutex);
    std::vector<std::uintptr_t> addresses;
    for (TraceId id : traces) {
      for (std::uintptr_t address : depot_frames(id)) {
        // The C library's frames are, in almost every trace, its entry points past main,
        // which no warning shows; reading its debug information (compressed, where
        // installed) would cost more than the rest of a first report. Left out of the
        // batch, they are symbolized one by one if a trace's walk ever reaches them.
        if (cache.frames.contains(address) || cache.deferred.contains(address)) continue;
        if (is_c_library(module_locked(cache, address).path)) {
          cache.deferred.insert(address);
        } else {
          addresses.push_back(address);
        }
      }
    }
    fill_cache(cache, addresses);
  } catch (...) {
  }
}

ModuleInfo cached_module_of(std::uintptr_t address) noexcept {
  SymbolCache& cache = symbol_cache();
  std::lock_guard lock(cache.mutex);
  try {
    return module_locked(cache, address);
  } catch (...) {
    return {};
  }
}

void lock_symbols_for_fork() noexcept { symbol_cache().mutex.lock(); }
void unlock_symbols_after_fork() noexcept { symbol_cache().mutex.unlock(); }

}  // namespace internal

std::span<const std::uintptr_t> trace_addresses(TraceId id) noexcept {
  return internal::depot_frames(id);
}

std::vector<Frame> symbolize_address(std::uintptr_t address) noexcept {
  internal::SymbolCache& cache = internal::symbol_cache();
  std::lock_guard lock(cache.mutex);
  try {
    return internal::frames_of(cache, address);
  } catch (...) {
    return {};
  }
}

std::vector<Frame> symbolize_trace(TraceId id) noexcept {
  std::vector<Frame> frames;
  try {
    const auto addresses = internal::depot_frames(id);
    internal::prepare_symbols({id});
    bool ended = false;
    for (std::uintptr_t address : addresses) {
      for (Frame& frame : symbolize_address(address)) {
        // restrack's frames say nothing about the user's code wherever they are: before
        // it (the owner's constructor) or between its frames (an event loop running a
        // task).
        if (internal::is_library_frame(frame)) continue;
        if (internal::is_static_initializer_frame(frame.function)) {
          // A file-scope object's initializer: the user's, and as far out as it goes.
          frame.function = "<static initializer>";
          ended = true;
        } else {
          ended = frame.function == "main";
        }
        frames.push_back(std::move(frame));
        if (ended) break;
      }
      if (ended) break;  // what runs before main is noise to the reader
    }
    // Past the last frame with a source line lie the C library's thread and process
    // entry points; keep them only if nothing has a line.
    auto last_with_file = std::find_if(frames.rbegin(), frames.rend(),
                                       [](const Frame& f) { return !f.file.empty(); });
    if (last_with_file != frames.rend()) frames.erase(last_with_file.base(), frames.end());
    const auto depth = static_cast<std::size_t>(internal::hot_settings().trace_depth());
    const std::size_t keep = std::max<std::size_t>(depth, 1);
    if (frames.size() > keep) frames.resize(keep);
  } catch (...) {
    // Out of memory: what was symbolized so far.
  }
  return frames;
}

RESTRACK_NAMESPACE_END
