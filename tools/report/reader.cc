// Reads both report schemas into one model. Version 1 carries frames inline in every
// trace; version 2 has module and trace tables referenced by id, and its open_at_exit
// diagnostics may refer to the live entry with the same serial instead of repeating it.
#include "reader.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <thread>
#include <unordered_map>

namespace restrack::report {

const char* to_string(ProblemType type) {
  switch (type) {
    case ProblemType::unclosed:
      return "unclosed";
    case ProblemType::closed_twice:
      return "closed_twice";
    case ProblemType::used_after_close:
      return "used_after_close";
    case ProblemType::open_at_exit:
      return "open_at_exit";
    case ProblemType::destroyed_pending:
      return "destroyed_pending";
    case ProblemType::exception_never_retrieved:
      return "exception_never_retrieved";
    case ProblemType::closed_not_open:
      return "closed_not_open";
    case ProblemType::closed_behind_owner:
      return "closed_behind_owner";
  }
  return "unclosed";
}

bool parse_problem_type(std::string_view name, ProblemType& type) {
  for (int i = 0; i < kProblemTypeCount; ++i) {
    const auto candidate = static_cast<ProblemType>(i);
    if (name == to_string(candidate)) {
      type = candidate;
      return true;
    }
  }
  return false;
}

namespace {

namespace json = boost::json;

// A position in the document, as a chain of stack objects: building the text costs
// nothing unless an error is reported.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;
  std::size_t index = 0;
  bool is_index = false;

  Path member(std::string_view name) const { return Path{this, name, 0, false}; }
  Path element(std::size_t i) const { return Path{this, {}, i, true}; }

  std::string text() const {
    std::vector<const Path*> chain;
    for (const Path* p = this; p != nullptr; p = p->parent) chain.push_back(p);
    std::string out = "$";
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      const Path* p = *it;
      if (p->is_index) {
        out.append("[").append(std::to_string(p->index)).append("]");
      } else if (!p->key.empty()) {
        out.append(".").append(p->key);
      }
    }
    return out;
  }
};

struct Failure {
  std::string path;
  std::string message;
};

[[noreturn]] void fail(const Path& at, std::string message) {
  throw Failure{at.text(), std::move(message)};
}

const char* kind_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

[[noreturn]] void wrong_type(const json::value& value, const Path& at, const char* expected) {
  fail(at, std::string("expected ") + expected + ", found " + kind_name(value));
}

const json::object& as_object(const json::value& value, const Path& at) {
  if (const json::object* object = value.if_object()) return *object;
  wrong_type(value, at, "an object");
}

const json::array& as_array(const json::value& value, const Path& at) {
  if (const json::array* array = value.if_array()) return *array;
  wrong_type(value, at, "an array");
}

// Readers for one member of an object. A missing optional member keeps the default.
class Members {
 public:
  Members(const json::object& object, const Path& at) : object_(object), at_(at) {}

  const Path& path() const { return at_; }
  const json::value* find(std::string_view key) const { return object_.if_contains(key); }

  const json::value& required(std::string_view key) const {
    const json::value* value = find(key);
    if (value == nullptr) fail(at_, "missing member \"" + std::string(key) + "\"");
    return *value;
  }

  bool string(std::string_view key, std::string& out, RawFields* raw = nullptr,
              bool is_required = false) const {
    const json::value* value = is_required ? &required(key) : find(key);
    if (value == nullptr) return false;
    const json::string* text = value->if_string();
    if (text == nullptr) wrong_type(*value, at_.member(key), "a string");
    out.assign(text->data(), text->size());
    if (raw != nullptr) keep_raw(key, *raw);
    return true;
  }

  // Non-negative integers (serials, thread ids, lines) may exceed 2^63 in principle.
  bool unsigned_integer(std::string_view key, std::uint64_t& out) const {
    const json::value* value = find(key);
    if (value == nullptr) return false;
    if (const std::uint64_t* u = value->if_uint64()) {
      out = *u;
    } else if (const std::int64_t* i = value->if_int64(); i != nullptr && *i >= 0) {
      out = static_cast<std::uint64_t>(*i);
    } else {
      wrong_type(*value, at_.member(key), "a non-negative integer");
    }
    return true;
  }

  bool signed_integer(std::string_view key, std::int64_t& out) const {
    const json::value* value = find(key);
    if (value == nullptr) return false;
    if (const std::int64_t* i = value->if_int64()) {
      out = *i;
    } else if (const std::uint64_t* u = value->if_uint64();
               u != nullptr && *u <= static_cast<std::uint64_t>(INT64_MAX)) {
      out = static_cast<std::int64_t>(*u);
    } else {
      wrong_type(*value, at_.member(key), "an integer");
    }
    return true;
  }

  // "0x1f2e": addresses and offsets are hex strings, so that 64-bit values survive
  // readers that hold numbers as doubles.
  bool hex(std::string_view key, std::uint64_t& out) const {
    const json::value* value = find(key);
    if (value == nullptr) return false;
    const json::string* text = value->if_string();
    if (text == nullptr) wrong_type(*value, at_.member(key), "a hex string");
    const std::string_view digits(text->data(), text->size());
    const char* begin = digits.data() + 2;
    const char* end = digits.data() + digits.size();
    if (digits.size() <= 2 || !digits.starts_with("0x") ||
        std::from_chars(begin, end, out, 16).ptr != end) {
      fail(at_.member(key),
           "expected a hex string like \"0x1f2e\", found \"" + std::string(digits) + "\"");
    }
    return true;
  }

 private:
  void keep_raw(std::string_view key, RawFields& raw) const {
    const std::string name = std::string(key) + "_base64";
    const json::value* value = find(name);
    if (value == nullptr) return;
    const json::string* text = value->if_string();
    if (text == nullptr) wrong_type(*value, at_.member(key), "a string");
    raw.emplace_back(std::string(key), std::string(text->data(), text->size()));
  }

  const json::object& object_;
  const Path& at_;
};

void read_frame_common(const Members& m, Frame& frame) {
  m.hex("address", frame.address);
  m.hex("offset", frame.offset);
  m.string("function", frame.function, &frame.raw);
  m.string("file", frame.file, &frame.raw);
  std::uint64_t line = 0;
  m.unsigned_integer("line", line);
  frame.line = static_cast<unsigned>(line);
}

Trace read_inline_trace(const json::value& value, const Path& at) {
  Trace trace;
  const json::array& frames = as_array(value, at);
  trace.reserve(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Path frame_at = at.element(i);
    const Members m(as_object(frames[i], frame_at), frame_at);
    Frame& frame = trace.emplace_back();
    read_frame_common(m, frame);
    m.string("module", frame.module, &frame.raw);
  }
  return trace;
}

struct Module {
  std::string path;
  std::string build_id;
  RawFields raw;
};

class ReportReader {
 public:
  explicit ReportReader(Report& report) : report_(report) {}

  void read(const json::value& root) {
    const Path at;
    const Members m(as_object(root, at), at);
    std::string schema;
    m.string("schema", schema, nullptr, true);
    if (schema != "restrack-report") {
      fail(at.member("schema"), "not a restrack report (schema \"" + schema + "\")");
    }
    std::int64_t version = 0;
    if (!m.signed_integer("version", version)) fail(at, "missing member \"version\"");
    if (version > kNewestReportVersion) {
      fail(at.member("version"), "schema version " + std::to_string(version) +
                                     " is newer than this restrack-report reads (versions 1 to " +
                                     std::to_string(kNewestReportVersion) +
                                     "); use a newer restrack-report");
    }
    if (version < 1)
      fail(at.member("version"), "unknown schema version " + std::to_string(version));
    report_.version = static_cast<int>(version);
    m.signed_integer("pid", report_.pid);
    m.string("program", report_.program);
    if (const json::value* options = m.find("options")) {
      const Path options_at = at.member("options");
      const Members o(as_object(*options, options_at), options_at);
      std::int64_t depth = report_.trace_depth;
      o.signed_integer("trace_depth", depth);
      report_.trace_depth = static_cast<int>(depth);
    }
    if (const json::value* counts = m.find("counts")) {
      const Path counts_at = at.member("counts");
      const Members c(as_object(*counts, counts_at), counts_at);
      c.unsigned_integer("not_recorded", report_.not_recorded);
    }
    if (version >= 2) read_tables(m);
    read_problems(m, "live", report_.live, true);
    read_problems(m, "diagnostics", report_.problems, false);
  }

 private:
  void read_tables(const Members& m) {
    if (const json::value* modules = m.find("modules")) {
      const Path modules_at = m.path().member("modules");
      const json::array& array = as_array(*modules, modules_at);
      for (std::size_t i = 0; i < array.size(); ++i) {
        const Path module_at = modules_at.element(i);
        const Members mm(as_object(array[i], module_at), module_at);
        std::uint64_t id = 0;
        if (!mm.unsigned_integer("id", id)) fail(module_at, "missing member \"id\"");
        Module& module = modules_[id];
        mm.string("path", module.path, &module.raw, true);
        mm.string("build_id", module.build_id);
      }
    }
    if (const json::value* traces = m.find("traces")) {
      const Path traces_at = m.path().member("traces");
      const json::array& array = as_array(*traces, traces_at);
      report_.traces.reserve(array.size() + 1);
      for (std::size_t i = 0; i < array.size(); ++i) {
        const Path trace_at = traces_at.element(i);
        const Members t(as_object(array[i], trace_at), trace_at);
        std::uint64_t id = 0;
        if (!t.unsigned_integer("id", id) || id == 0) {
          fail(trace_at.member("id"), "a trace needs an id of 1 or more");
        }
        if (!trace_ids_.emplace(id, static_cast<TraceIndex>(report_.traces.size())).second) {
          fail(trace_at.member("id"), "trace id " + std::to_string(id) + " appears twice");
        }
        const Path frames_at = trace_at.member("frames");
        Trace& trace = report_.traces.emplace_back();
        const json::array& frames = as_array(t.required("frames"), frames_at);
        trace.reserve(frames.size());
        for (std::size_t f = 0; f < frames.size(); ++f) {
          const Path frame_at = frames_at.element(f);
          const Members fm(as_object(frames[f], frame_at), frame_at);
          Frame& frame = trace.emplace_back();
          read_frame_common(fm, frame);
          std::uint64_t module_id = 0;
          if (fm.unsigned_integer("module", module_id)) {
            const auto found = modules_.find(module_id);
            if (found == modules_.end()) {
              fail(frame_at.member("module"),
                   "module " + std::to_string(module_id) + " is not in $.modules");
            }
            frame.module = found->second.path;
            frame.build_id = found->second.build_id;
            for (const auto& [name, bytes] : found->second.raw) {
              frame.raw.emplace_back("module." + name, bytes);
            }
          }
        }
      }
    }
  }

  TraceIndex trace_reference(const Members& m, std::string_view key) {
    const json::value* value = m.find(key);
    if (value == nullptr) return 0;
    if (report_.version == 1) {
      Trace trace = read_inline_trace(*value, m.path().member(key));
      if (trace.empty()) return 0;
      report_.traces.push_back(std::move(trace));
      return static_cast<TraceIndex>(report_.traces.size() - 1);
    }
    std::uint64_t id = 0;
    m.unsigned_integer(key, id);
    if (id == 0) return 0;
    const auto found = trace_ids_.find(id);
    if (found == trace_ids_.end()) {
      fail(m.path().member(key), "trace " + std::to_string(id) + " is not in $.traces");
    }
    return found->second;
  }

  void read_problems(const Members& m, std::string_view key, std::vector<Problem>& out, bool live) {
    const json::value* value = m.find(key);
    if (value == nullptr) return;
    const Path array_at = m.path().member(key);
    const json::array& array = as_array(*value, array_at);
    out.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
      const Path entry_at = array_at.element(i);
      const Members e(as_object(array[i], entry_at), entry_at);
      Problem& problem = out.emplace_back();
      if (live) {
        problem.type = ProblemType::open_at_exit;
      } else {
        std::string type;
        e.string("type", type, nullptr, true);
        if (!parse_problem_type(type, problem.type)) {
          fail(entry_at.member("type"), "unknown diagnostic type \"" + type + "\"");
        }
      }
      e.unsigned_integer("serial", problem.serial);
      e.string("test", problem.test, &problem.raw);
      // Version 2 lists a resource open at exit once, in $.live; its diagnostic names
      // it by serial.
      if (!live && report_.version >= 2 && problem.type == ProblemType::open_at_exit &&
          e.find("kind") == nullptr) {
        const Problem* open = find_live(problem.serial);
        if (open == nullptr) {
          fail(entry_at.member("serial"),
               "open_at_exit serial " + std::to_string(problem.serial) + " has no entry in $.live");
        }
        std::string test = std::move(problem.test);
        RawFields raw = std::move(problem.raw);
        problem = *open;
        problem.type = ProblemType::open_at_exit;
        if (!test.empty()) {
          problem.test = std::move(test);
          problem.raw = std::move(raw);
        }
        continue;
      }
      e.string("kind", problem.kind, &problem.raw, true);
      e.string("description", problem.description, &problem.raw);
      e.string("location", problem.location, &problem.raw);
      e.unsigned_integer("thread", problem.thread);
      e.signed_integer("age_ns", problem.age_ns);
      problem.allocation = trace_reference(e, "allocation_trace");
      if (!live) {
        problem.site = trace_reference(e, "site_trace");
        problem.first_close = trace_reference(e, "first_close_trace");
      }
    }
  }

  const Problem* find_live(std::uint64_t serial) const {
    for (const Problem& open : report_.live) {
      if (open.serial == serial) return &open;
    }
    return nullptr;
  }

  Report& report_;
  std::unordered_map<std::uint64_t, Module> modules_;
  std::unordered_map<std::uint64_t, TraceIndex> trace_ids_;
};

// Follows the parser through the document to name where a syntax error is: the path of
// the value being read when the input ended or went wrong.
class PathTracker {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::string path() const {
    std::string out = "$";
    for (const Level& level : stack_) {
      if (level.array) {
        out.append("[").append(std::to_string(level.next)).append("]");
      } else if (!level.key.empty()) {
        out.append(".").append(level.key);
      }
    }
    return out;
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return open(false); }
  bool on_object_end(std::size_t, json::error_code&) { return close(); }
  bool on_array_begin(json::error_code&) { return open(true); }
  bool on_array_end(std::size_t, json::error_code&) { return close(); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    if (!in_key_) stack_.back().key.clear();
    in_key_ = true;
    stack_.back().key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code& ec) {
    on_key_part(s, n, ec);
    in_key_ = false;
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return scalar(); }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return scalar(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return scalar(); }
  bool on_double(double, json::string_view, json::error_code&) { return scalar(); }
  bool on_bool(bool, json::error_code&) { return scalar(); }
  bool on_null(json::error_code&) { return scalar(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Level {
    bool array = false;
    std::size_t next = 0;  // arrays: index of the element being read
    std::string key;       // objects: the member being read
  };

  bool open(bool array) {
    stack_.push_back(Level{array, 0, {}});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return scalar();
  }
  bool scalar() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().next;
    return true;
  }

  std::vector<Level> stack_;
  bool in_key_ = false;
};

std::string syntax_error(std::string_view text, const json::error_code& parse_error) {
  json::basic_parser<PathTracker> parser(json::parse_options{});
  json::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < used && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  const json::error_code& reported = ec ? ec : parse_error;
  return parser.handler().path() + ": " + reported.message() + " at line " + std::to_string(line) +
         ", column " + std::to_string(column);
}

}  // namespace

bool parse_report(std::string_view text, const std::string& file, Report& report,
                  std::string& error) {
  report = Report();
  report.file = file;
  try {
    json::error_code ec;
    json::monotonic_resource arena;
    const json::value root = json::parse(json::string_view(text.data(), text.size()), ec, &arena);
    if (ec) {
      error = file + ": " + (text.empty() ? std::string("$: empty file") : syntax_error(text, ec));
      return false;
    }
    ReportReader(report).read(root);
    return true;
  } catch (const Failure& failure) {
    error = file + ": " + failure.path + ": " + failure.message;
  } catch (const std::bad_alloc&) {
    error = file + ": out of memory";
  }
  return false;
}

bool read_report_file(const std::string& file, Report& report, std::string& error) {
  std::FILE* in = std::fopen(file.c_str(), "rb");
  if (in == nullptr) {
    error = file + ": cannot open: " + std::strerror(errno);
    return false;
  }
  std::string contents;
  char buffer[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) contents.append(buffer, n);
  const bool failed = std::ferror(in) != 0;
  const int read_errno = errno;
  std::fclose(in);
  if (failed) {
    error = file + ": cannot read: " + std::strerror(read_errno);
    return false;
  }
  return parse_report(contents, file, report, error);
}

ReadReports read_report_files(const std::vector<std::string>& files, unsigned threads) {
  std::vector<Report> reports(files.size());
  std::vector<std::string> errors(files.size());
  std::vector<char> ok(files.size(), 0);
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i = next++; i < files.size(); i = next++) {
      ok[i] = read_report_file(files[i], reports[i], errors[i]) ? 1 : 0;
    }
  };
  std::vector<std::thread> pool;
  const unsigned extra = std::min<std::size_t>(std::max(threads, 1U), files.size()) - 1;
  for (unsigned t = 0; t < extra && files.size() > 1; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  ReadReports out;
  out.reports.reserve(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (ok[i] != 0) {
      out.reports.push_back(std::move(reports[i]));
    } else {
      out.skipped.push_back(Skipped{files[i], std::move(errors[i])});
    }
  }
  return out;
}

}  // namespace restrack::report
