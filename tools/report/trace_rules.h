// What a trace shows a reader, for frames restrack-report symbolized itself: the same
// rules the tracker applies before it prints a warning (docs/design.md, "Symbolization"),
// so a trace symbolized offline reads exactly like the live warning did.
#pragma once

#include <string>
#include <string_view>

#include "model.h"

namespace restrack::report {

// Names as the tracker prints them: without the inline ABI namespace, GCC's coroutine
// bodies as "f(ARGS) [coroutine]", std::__cxx11::basic_string<char, ...> as std::string.
void tidy_function_name(std::string& name);

// "src/../include/x.h" reads "include/x.h".
void tidy_file_name(std::string& file);

// restrack's own frames, the standard library's and a sanitizer runtime's.
bool is_library_frame(const Frame& frame);

// From the frames of every captured address, innermost first, to the trace users read:
// library frames dropped wherever they are, nothing past main, trailing frames without a
// source line dropped when some frame has one, at most max(depth, 1) frames.
Trace finish_trace(Trace frames, int depth);

}  // namespace restrack::report
