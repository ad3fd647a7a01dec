#include "trace_rules.h"

#include <algorithm>
#include <filesystem>

#include "abi_namespace.h"

namespace restrack::report {
namespace {

void replace_all(std::string& text, std::string_view needle, std::string_view with) {
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + with.size())) {
    text.replace(at, needle.size(), with);
  }
}

// GCC names a coroutine body "f(f(ARGS)::_Z...Frame*) [clone .actor]": the outer name,
// then the whole signature again as the parameter's scope.
void tidy_coroutine_name(std::string& name) {
  constexpr std::string_view kActor = " [clone .actor]";
  const std::size_t frame_type = name.rfind("::_Z");
  if (!name.ends_with(kActor) || frame_type == std::string::npos) return;
  for (std::size_t open = name.find('('); open != std::string::npos && open < frame_type;
       open = name.find('(', open + 1)) {
    const std::string_view head(name.data(), open);
    if (open > 0 && std::string_view(name).substr(open + 1).starts_with(head)) {
      name = name.substr(open + 1, frame_type - open - 1) + " [coroutine]";
      return;
    }
  }
}

// "ns::f<T>(int)" -> "ns::f<T>": the qualified name, without a template function's
// return type and without the parameters.
std::string_view qualified_name(std::string_view signature) {
  int angle = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < signature.size(); ++i) {
    switch (signature[i]) {
      case '<':
        ++angle;
        break;
      case '>':
        --angle;
        break;
      case ' ':
        if (angle == 0) start = i + 1;
        break;
      case '(':
        if (angle == 0 && !signature.substr(0, i).ends_with("operator")) {
          return signature.substr(start, i - start);
        }
        break;
      default:
        break;
    }
  }
  return signature.substr(start);
}

}  // namespace

void tidy_function_name(std::string& name) {
  restrack::names::strip_abi_namespace(name);
  tidy_coroutine_name(name);
  replace_all(name,
              "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >",
              "std::string");
}

void tidy_file_name(std::string& file) {
  if (file.find("..") != std::string::npos || file.find("./") != std::string::npos) {
    file = std::filesystem::path(file).lexically_normal().string();
  }
}

bool is_library_frame(const Frame& frame) {
  const std::string_view name = qualified_name(frame.function);
  for (std::string_view prefix : {"restrack::", "std::", "__gnu_cxx::"}) {
    if (name.starts_with(prefix)) return true;
  }
  const std::string_view module = frame.module;
  const std::size_t slash = module.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? module : module.substr(slash + 1);
  for (std::string_view runtime :
       {"libasan", "libtsan", "libubsan", "liblsan", "libhwasan", "libclang_rt."}) {
    if (base.starts_with(runtime)) return true;
  }
  return false;
}

Trace finish_trace(Trace frames, int depth) {
  Trace out;
  out.reserve(frames.size());
  for (Frame& frame : frames) {
    if (is_library_frame(frame)) continue;
    const bool is_main = frame.function == "main";
    out.push_back(std::move(frame));
    if (is_main) break;  // what runs before main says nothing about the user's code
  }
  const auto last_with_file =
      std::find_if(out.rbegin(), out.rend(), [](const Frame& f) { return !f.file.empty(); });
  if (last_with_file != out.rend()) out.erase(last_with_file.base(), out.end());
  const std::size_t keep = static_cast<std::size_t>(std::max(depth, 1));
  if (out.size() > keep) out.resize(keep);
  return out;
}

}  // namespace restrack::report
