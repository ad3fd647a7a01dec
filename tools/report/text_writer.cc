// The text output: a summary line, the table of sites, problems per test, fixed sites,
// then the top sites with an example warning and its trace.
#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <filesystem>

#include "merge.h"
#include "writers.h"

namespace restrack::report {
namespace {

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string base_name(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  return name.empty() ? std::string("(unknown program)") : name;
}

void append_trace(std::string& text, std::string_view heading, const Trace& trace,
                  std::string_view indent) {
  text.append(indent).append(heading).append(" (most recent call first):\n");
  for (std::size_t i = 0; i < trace.size(); ++i) {
    text.append(indent).append("  #").append(std::to_string(i)).append(" ");
    text.append(frame_text(trace[i])).append("\n");
  }
}

class Style {
 public:
  explicit Style(bool color) : color_(color) {}
  std::string bold(std::string_view s) const { return wrap("1", s); }
  std::string red(std::string_view s) const { return wrap("1;31", s); }
  std::string green(std::string_view s) const { return wrap("32", s); }
  std::string dim(std::string_view s) const { return wrap("2", s); }

 private:
  std::string wrap(std::string_view code, std::string_view s) const {
    if (!color_) return std::string(s);
    return "\033[" + std::string(code) + "m" + std::string(s) + "\033[0m";
  }
  bool color_;
};

// A table whose columns are as wide as their widest cell; `right` columns are numbers.
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<bool> right) : right_(std::move(right)) {
    rows_.push_back(std::move(header));
  }
  void add(std::vector<std::string> row, std::string_view style = {}) {
    rows_.push_back(std::move(row));
    styles_.emplace_back(style);
  }
  std::string render(const Style& style) const {
    std::vector<std::size_t> width(rows_.front().size(), 0);
    for (const auto& row : rows_) {
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    std::string text;
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      std::string line = "  ";
      for (std::size_t c = 0; c < rows_[r].size(); ++c) {
        const std::string& cell = rows_[r][c];
        const std::string pad(width[c] - cell.size(), ' ');
        const bool last = c + 1 == rows_[r].size();
        std::string shown = cell;
        if (r > 0 && styles_[r - 1] == "new" && cell == "new") shown = style.red(cell);
        if (r > 0 && cell == "known") shown = style.dim(cell);
        line += right_[c] ? pad + shown : (last ? shown : shown + pad);
        if (!last) line += "  ";
      }
      text += r == 0 ? style.bold(line) : line;
      text += '\n';
    }
    return text;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::string> styles_;
  std::vector<bool> right_;
};

std::size_t named_tests(const Site& site) {
  return static_cast<std::size_t>(std::count_if(site.tests.begin(), site.tests.end(),
                                                [](const Count& t) { return !t.name.empty(); }));
}

}  // namespace

const Problem& problem_at(const Merged& merged, const ProblemRef& ref) {
  const Report& report = merged.reports[ref.report];
  return ref.live ? report.live[ref.index] : report.problems[ref.index];
}

std::string problem_label(ProblemType type) {
  std::string label = to_string(type);
  std::replace(label.begin(), label.end(), '_', ' ');
  return label;
}

std::string warning_text(const Report& report, const Problem& problem) {
  std::string text = problem.location + ": ResourceWarning: ";
  switch (problem.type) {
    case ProblemType::unclosed:
      text.append("unclosed ").append(problem.kind);
      break;
    case ProblemType::closed_twice:
      text.append(problem.kind).append(" closed twice");
      break;
    case ProblemType::used_after_close:
      text.append(problem.kind).append(" used after close");
      break;
    case ProblemType::open_at_exit:
      text.append(problem.kind).append(" still open at exit");
      break;
    case ProblemType::destroyed_pending:
      text.append(problem.kind).append(" was destroyed but it is pending");
      break;
    case ProblemType::exception_never_retrieved:
      text.append(problem.kind).append(" exception was never retrieved");
      break;
    case ProblemType::closed_not_open:
      text.append(problem.kind).append(" closed while not open");
      break;
    case ProblemType::closed_behind_owner:
      text.append(problem.kind).append(" closed behind its owner's back");
      break;
  }
  text.append(" <").append(problem.description).append(">\n");
  const Trace& allocation = report.traces[problem.allocation];
  if (allocation.empty()) {
    text.append(
        "Enable allocation traces (RESTRACK_OPTIONS=trace_depth=16) to see where it was "
        "allocated\n");
  } else {
    append_trace(text, "Object allocated at", allocation, "");
  }
  const Trace& first_close = report.traces[problem.first_close];
  if (!first_close.empty() &&
      (problem.type == ProblemType::closed_twice || problem.type == ProblemType::used_after_close ||
       problem.type == ProblemType::closed_not_open)) {
    append_trace(text, "First closed at", first_close, "");
  }
  // As the tracker prints it: where the owner's descriptor was closed, in full.
  const Trace& site = report.traces[problem.site];
  if (!site.empty() && problem.type == ProblemType::closed_behind_owner) {
    append_trace(text, "Closed at", site, "");
  }
  text.pop_back();
  return text;
}

std::string summary_line(const Merged& merged) {
  absl::flat_hash_set<std::string> programs;
  for (const Report& report : merged.reports) programs.insert(report.program);
  std::string line = plural(merged.problems, "problem", "problems") + " at " +
                     plural(merged.sites.size(), "site", "sites") + " in " +
                     plural(merged.reports.size(), "process", "processes") + " (" +
                     plural(programs.size(), "program", "programs") + ")";
  if (merged.baseline_used) {
    line += "; new since the baseline: " + plural(merged.new_problems, "problem", "problems") +
            " at " + plural(merged.new_sites, "site", "sites") +
            "; fixed: " + plural(merged.fixed.size(), "allocation trace", "allocation traces");
  }
  return line;
}

std::string write_text(const Merged& merged, const TextOptions& options) {
  const Style style(options.color);
  std::string text = style.bold("restrack-report: " + summary_line(merged)) + "\n";
  if (!merged.skipped.empty()) {
    text += "skipped " + plural(merged.skipped.size(), "unreadable report", "unreadable reports") +
            ":\n";
    for (const Skipped& skipped : merged.skipped) text += "  " + skipped.error + "\n";
  }
  std::uint64_t not_recorded = 0;
  for (const Report& report : merged.reports) not_recorded += report.not_recorded;
  if (not_recorded > 0) {
    text += plural(not_recorded, "diagnostic was", "diagnostics were") +
            " not recorded: over a process's limit of 100,000\n";
  }
  if (!merged.sites.empty()) {
    text += "\n";
    std::vector<std::string> header{"#"};
    std::vector<bool> right{true};
    if (merged.baseline_used) {
      header.emplace_back("status");
      right.push_back(false);
    }
    // The tests column only when some problem was blamed on a test (the GoogleTest
    // listener was installed).
    const bool show_tests = std::any_of(merged.sites.begin(), merged.sites.end(),
                                        [](const Site& site) { return named_tests(site) > 0; });
    for (const char* name : {"problem", "kind", "count", "processes"}) header.emplace_back(name);
    right.insert(right.end(), {false, false, true, true});
    if (show_tests) {
      header.emplace_back("tests");
      right.push_back(true);
    }
    header.emplace_back("allocated at");
    right.push_back(false);
    Table table(header, right);
    for (std::size_t i = 0; i < merged.sites.size(); ++i) {
      const Site& site = merged.sites[i];
      std::vector<std::string> row{std::to_string(i + 1)};
      if (merged.baseline_used)
        row.emplace_back(site.status == SiteStatus::added ? "new" : "known");
      row.push_back(problem_label(site.type));
      row.push_back(site.kind);
      row.push_back(std::to_string(site.count));
      row.push_back(std::to_string(site.processes));
      if (show_tests) row.push_back(std::to_string(named_tests(site)));
      row.push_back(site_label(site));
      table.add(std::move(row), site.status == SiteStatus::added ? "new" : "");
    }
    text += table.render(style);
  }

  // Problems per test, when any problem was blamed on a test.
  absl::flat_hash_map<std::string, std::pair<std::uint64_t, std::uint64_t>> per_test;
  bool any_test = false;
  for (const Site& site : merged.sites) {
    for (const Count& test : site.tests) {
      auto& [problems, sites] = per_test[test.name];
      problems += test.count;
      ++sites;
      any_test = any_test || !test.name.empty();
    }
  }
  if (any_test) {
    std::vector<std::pair<std::string, std::pair<std::uint64_t, std::uint64_t>>> rows(
        per_test.begin(), per_test.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      if (a.second.first != b.second.first) return a.second.first > b.second.first;
      return a.first < b.first;
    });
    Table table({"test", "problems", "sites"}, {false, true, true});
    for (const auto& [name, counts] : rows) {
      table.add({test_label(name), std::to_string(counts.first), std::to_string(counts.second)});
    }
    text += "\n" + style.bold("Problems by test:") + "\n" + table.render(style);
  }

  if (!merged.fixed.empty()) {
    text += "\n" +
            style.bold("Fixed since the baseline (" + std::to_string(merged.fixed.size()) + "):") +
            "\n";
    for (const FixedSite& fixed : merged.fixed) {
      std::string type = fixed.type;
      std::replace(type.begin(), type.end(), '_', ' ');
      text += "  " + style.green(type + " " + fixed.kind) + ": " +
              (fixed.trace.empty() ? std::string("(no trace)") : fixed.trace.front());
      for (std::size_t i = 1; i < fixed.trace.size(); ++i) text += " <- " + fixed.trace[i];
      text += "\n";
    }
  }

  const std::size_t shown = std::min(options.top, merged.sites.size());
  if (shown > 0) {
    text += "\n" +
            style.bold(shown == merged.sites.size()
                           ? std::string("Sites:")
                           : "Top " + std::to_string(shown) + " of " +
                                 std::to_string(merged.sites.size()) + " sites:") +
            "\n";
  }
  for (std::size_t i = 0; i < shown; ++i) {
    const Site& site = merged.sites[i];
    std::string title = "[" + std::to_string(i + 1) + "] " + problem_label(site.type) + " " +
                        site.kind + ": " + plural(site.count, "problem", "problems") + " in " +
                        plural(site.processes, "process", "processes");
    if (site.status == SiteStatus::added) title += " (new)";
    text += "\n" + style.bold(title) + "\n";
    std::string programs;
    for (const Count& program : site.programs) {
      programs += (programs.empty() ? "" : ", ") + base_name(program.name) + " (" +
                  std::to_string(program.count) + ")";
    }
    text += "    programs: " + programs + "\n";
    if (named_tests(site) > 0) {
      std::string tests;
      for (const Count& test : site.tests) {
        tests += (tests.empty() ? "" : ", ") + test_label(test.name) + " (" +
                 std::to_string(test.count) + ")";
      }
      text += "    tests: " + tests + "\n";
    }
    const Problem& example = problem_at(merged, site.example);
    std::string warning = warning_text(merged.reports[site.example.report], example);
    text += "    ";
    for (const char c : warning) {
      text += c;
      if (c == '\n') text += "    ";
    }
    text += "\n";
    std::size_t new_traces = 0;
    for (const SiteTrace& trace : site.traces) new_traces += trace.status == SiteStatus::added;
    if (merged.baseline_used && site.status == SiteStatus::added && site.traces.size() > 1) {
      text += "    " +
              style.red("new allocation traces: " + std::to_string(new_traces) + " of " +
                        std::to_string(site.traces.size())) +
              "\n";
    }
    if (site.traces.size() > 1) {
      text += "    " +
              style.dim("and " +
                        plural(site.traces.size() - 1, "other allocation trace",
                               "other allocation traces") +
                        " through this site (see --format=json or --html)") +
              "\n";
    }
  }
  return text;
}

}  // namespace restrack::report
