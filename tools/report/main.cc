// restrack-report: reads restrack JSON reports, merges them, groups problems by
// allocation site and writes text, JSON, SARIF or HTML (docs/report-tool.md).
//
// Flags are Abseil flags, parsed here rather than by absl::ParseCommandLine so that bad
// usage exits with status 2 (ParseCommandLine exits 1, the status for "new problems"),
// and so that the documented spelling --write-baseline works beside --write_baseline.
#include <absl/flags/flag.h>
#include <absl/flags/reflection.h>
#include <absl/strings/str_split.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "baseline.h"
#include "inputs.h"
#include "merge.h"
#include "offline_symbolizer.h"
#include "reader.h"
#include "writers.h"

ABSL_FLAG(std::string, format, "text",
          "what to write on standard output: text (a summary for people), json (the merged "
          "model), sarif (SARIF 2.1.0) or html (a self-contained page)");
ABSL_FLAG(std::string, json, "", "also write the merged model as JSON to this file");
ABSL_FLAG(std::string, sarif, "", "also write SARIF 2.1.0 to this file");
ABSL_FLAG(std::string, html, "", "also write the HTML page to this file");
ABSL_FLAG(std::string, baseline, "",
          "count as new only problems whose allocation trace is not in this baseline file; "
          "list the baseline's traces that are gone as fixed");
ABSL_FLAG(std::string, write_baseline, "",
          "write today's allocation traces to this baseline file; without --baseline the "
          "exit status is then 0 unless input was bad");
ABSL_FLAG(std::string, search_path, "",
          "directories, ':'-separated, where the binaries named in reports are looked for "
          "(by file name, before the path the report recorded) to symbolize frames that "
          "carry only module and offset");
ABSL_FLAG(std::string, source_root, "",
          "directory that SARIF locations are relative to (default: the current directory)");
ABSL_FLAG(std::string, test, "",
          "keep only problems blamed on matching tests, in GoogleTest's filter syntax: "
          "'Suite.*:Other.Name-Suite.Flaky'; an empty name stands for problems outside tests");
ABSL_FLAG(std::string, kind, "", "keep only these resource kinds, ','-separated (socket,handle)");
ABSL_FLAG(std::string, type, "",
          "keep only these problem types, ','-separated: unclosed, closed_twice, "
          "used_after_close, open_at_exit, destroyed_pending, exception_never_retrieved, "
          "closed_not_open, closed_behind_owner");
ABSL_FLAG(bool, live, false,
          "also count what a report lists as still open at exit (its live set) as open_at_exit "
          "problems");
ABSL_FLAG(int, top, 10, "how many sites the text output shows with their traces");
ABSL_FLAG(std::string, color, "auto",
          "colour in the text output: auto (when a terminal), "
          "always or never");

namespace restrack::report {
namespace {

constexpr const char* kTool = "restrack-report";

struct FlagEntry {
  const absl::CommandLineFlag& flag;
  const char* value;  // placeholder in --help; nullptr for a boolean
};

const std::vector<FlagEntry>& tool_flags() {
  static const std::vector<FlagEntry> flags = {
      {absl::GetFlagReflectionHandle(FLAGS_format), "FORMAT"},
      {absl::GetFlagReflectionHandle(FLAGS_json), "FILE"},
      {absl::GetFlagReflectionHandle(FLAGS_sarif), "FILE"},
      {absl::GetFlagReflectionHandle(FLAGS_html), "FILE"},
      {absl::GetFlagReflectionHandle(FLAGS_baseline), "FILE"},
      {absl::GetFlagReflectionHandle(FLAGS_write_baseline), "FILE"},
      {absl::GetFlagReflectionHandle(FLAGS_search_path), "DIRS"},
      {absl::GetFlagReflectionHandle(FLAGS_source_root), "DIR"},
      {absl::GetFlagReflectionHandle(FLAGS_test), "FILTER"},
      {absl::GetFlagReflectionHandle(FLAGS_kind), "KINDS"},
      {absl::GetFlagReflectionHandle(FLAGS_type), "TYPES"},
      {absl::GetFlagReflectionHandle(FLAGS_live), nullptr},
      {absl::GetFlagReflectionHandle(FLAGS_top), "N"},
      {absl::GetFlagReflectionHandle(FLAGS_color), "WHEN"},
  };
  return flags;
}

std::string dashed(absl::string_view name) {
  std::string out(name.data(), name.size());
  for (char& c : out) c = c == '_' ? '-' : c;
  return out;
}

// Breaks `text` into lines of at most `width` columns, each starting with `indent`.
std::string wrap(absl::string_view text, std::size_t width, std::string_view indent) {
  std::string out;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out.append(indent).append(line).append("\n");
      line.clear();
    }
    line.append(line.empty() ? "" : " ").append(word.data(), word.size());
  }
  if (!line.empty()) out.append(indent).append(line).append("\n");
  return out;
}

void print_help() {
  std::string text =
      "Usage: restrack-report [FLAGS] REPORT...\n"
      "\n"
      "Reads restrack JSON reports (files, directories searched for *.json, glob patterns),\n"
      "merges them, groups problems by allocation site and kind, and writes a summary.\n"
      "Exit status: 0 nothing new, 1 new problems, 2 bad usage or unreadable input.\n"
      "\n"
      "Flags (--name=VALUE or --name VALUE; '-' and '_' are the same in names):\n";
  for (const FlagEntry& entry : tool_flags()) {
    text += "  --" + dashed(entry.flag.Name());
    if (entry.value != nullptr) text += std::string("=") + entry.value;
    std::string help = entry.flag.Help();
    const std::string fallback = entry.flag.DefaultValue();
    if (entry.value != nullptr && !fallback.empty() && help.find("(default") == std::string::npos) {
      help += " (default: " + fallback + ")";
    }
    text += "\n" + wrap(help, 76, "      ");
  }
  text += "  --help\n      this text\n\nSee docs/report-tool.md for the outputs and a CI recipe.\n";
  std::fputs(text.c_str(), stdout);
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "%s: %s (see --help)\n", kTool, message.c_str());
  std::exit(2);
}

const FlagEntry* find_flag(const std::string& name) {
  for (const FlagEntry& entry : tool_flags()) {
    if (entry.flag.Name() == name) return &entry;
  }
  return nullptr;
}

// Sets the tool's flags from argv and returns the other arguments.
std::vector<std::string> parse_arguments(int argc, char** argv) {
  std::vector<std::string> inputs;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (flags_done || argument.size() < 2 || argument[0] != '-') {
      inputs.push_back(argument);
      continue;
    }
    if (argument == "--") {
      flags_done = true;
      continue;
    }
    if (argument == "--help" || argument == "-h" || argument == "-help") {
      print_help();
      std::exit(0);
    }
    const std::size_t dashes = argument.starts_with("--") ? 2 : 1;
    const std::size_t equals = argument.find('=');
    std::string name =
        argument.substr(dashes, equals == std::string::npos ? std::string::npos : equals - dashes);
    for (char& c : name) c = c == '-' ? '_' : c;
    const std::string shown = "--" + dashed(name);
    const FlagEntry* entry = find_flag(name);
    bool negated = false;
    if (entry == nullptr && name.starts_with("no")) {
      entry = find_flag(name.substr(2));
      negated = entry != nullptr && entry->value == nullptr;
      if (!negated) entry = nullptr;
    }
    if (entry == nullptr) usage_error("unknown flag " + shown);
    std::string value;
    if (equals != std::string::npos) {
      if (negated) usage_error(shown + " takes no value");
      value = argument.substr(equals + 1);
    } else if (entry->value == nullptr) {
      value = negated ? "false" : "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      usage_error(shown + " needs a value: " + shown + "=" + entry->value);
    }
    std::string error;
    if (!const_cast<absl::CommandLineFlag&>(entry->flag).ParseFrom(value, &error)) {
      usage_error(shown + ": " + error);
    }
  }
  return inputs;
}

std::vector<std::string> split_list(const std::string& text, char separator) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(text, separator, absl::SkipEmpty())) {
    items.emplace_back(item.data(), item.size());
  }
  return items;
}

void note(const std::string& message) { std::fprintf(stderr, "%s: %s\n", kTool, message.c_str()); }

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    note("cannot write " + path);
    return false;
  }
  return true;
}

int run(int argc, char** argv) {
  const std::vector<std::string> arguments = parse_arguments(argc, argv);
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "text" && format != "json" && format != "sarif" && format != "html") {
    usage_error("--format must be text, json, sarif or html, not \"" + format + "\"");
  }
  const std::string color = absl::GetFlag(FLAGS_color);
  if (color != "auto" && color != "always" && color != "never") {
    usage_error("--color must be auto, always or never, not \"" + color + "\"");
  }
  if (absl::GetFlag(FLAGS_top) < 0) usage_error("--top must be 0 or more");
  Filters filters;
  filters.tests = absl::GetFlag(FLAGS_test);
  filters.kinds = split_list(absl::GetFlag(FLAGS_kind), ',');
  filters.live = absl::GetFlag(FLAGS_live);
  for (const std::string& name : split_list(absl::GetFlag(FLAGS_type), ',')) {
    ProblemType type{};
    if (!parse_problem_type(name, type)) {
      usage_error("--type: unknown problem type \"" + name +
                  "\" (unclosed, closed_twice, used_after_close, open_at_exit, "
                  "destroyed_pending, exception_never_retrieved, closed_not_open, "
                  "closed_behind_owner)");
    }
    filters.types.push_back(type);
  }
  if (arguments.empty()) {
    usage_error("no reports given; name report files, directories or glob patterns");
  }

  bool bad_input = false;
  const InputFiles inputs = expand_inputs(arguments);
  if (inputs.files.empty()) {
    std::string reasons;
    for (const std::string& error : inputs.errors) reasons += (reasons.empty() ? "" : "; ") + error;
    note("no reports to read (" + reasons + ")");
    return 2;
  }
  for (const std::string& error : inputs.errors) {
    note(error);
    bad_input = true;
  }

  Merged merged;
  ReadReports read =
      read_report_files(inputs.files, std::min(4U, std::thread::hardware_concurrency()));
  merged.reports = std::move(read.reports);
  merged.skipped = std::move(read.skipped);
  for (const Skipped& skipped : merged.skipped) {
    note(skipped.error + " (skipped)");
    bad_input = true;
  }

  OfflineSymbolizer symbolizer(split_list(absl::GetFlag(FLAGS_search_path), ':'));
  for (Report& report : merged.reports) symbolize_report(report, symbolizer);
  for (const std::string& message : symbolizer.notes()) note(message);

  group_sites(merged, filters);
  const std::string baseline = absl::GetFlag(FLAGS_baseline);
  if (!baseline.empty()) {
    std::string error;
    if (!apply_baseline(baseline, merged, error)) {
      note(error);
      return 2;
    }
  }

  std::error_code ec;
  std::string source_root = absl::GetFlag(FLAGS_source_root);
  source_root = std::filesystem::absolute(source_root.empty() ? "." : source_root, ec)
                    .lexically_normal()
                    .string();
  bool written = true;
  const std::string write_baseline_to = absl::GetFlag(FLAGS_write_baseline);
  if (!write_baseline_to.empty()) {
    std::string error;
    if (!write_baseline(write_baseline_to, merged, error)) {
      note(error);
      written = false;
    }
  }
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    written = write_file(path, write_json(merged)) && written;
  }
  if (const std::string path = absl::GetFlag(FLAGS_sarif); !path.empty()) {
    written = write_file(path, write_sarif(merged, source_root)) && written;
  }
  if (const std::string path = absl::GetFlag(FLAGS_html); !path.empty()) {
    written = write_file(path, write_html(merged)) && written;
  }
  std::string out;
  if (format == "json") {
    out = write_json(merged);
  } else if (format == "sarif") {
    out = write_sarif(merged, source_root);
  } else if (format == "html") {
    out = write_html(merged);
  } else {
    TextOptions options;
    const char* no_color = std::getenv("NO_COLOR");
    const char* term = std::getenv("TERM");
    options.color = color == "always" || (color == "auto" && ::isatty(STDOUT_FILENO) == 1 &&
                                          (no_color == nullptr || no_color[0] == '\0') &&
                                          (term == nullptr || std::string_view(term) != "dumb"));
    options.top = static_cast<std::size_t>(absl::GetFlag(FLAGS_top));
    out = write_text(merged, options);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) written = false;

  if (bad_input || !written) return 2;
  if (!write_baseline_to.empty() && baseline.empty()) return 0;
  return merged.new_problems > 0 ? 1 : 0;
}

}  // namespace
}  // namespace restrack::report

int main(int argc, char** argv) { return restrack::report::run(argc, argv); }
