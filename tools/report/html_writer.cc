// One self-contained HTML page: summary, a table of sites that sorts by any column and
// filters by kind and test, and each site's traces in a collapsible cell. Everything is
// inline (no fonts, scripts or styles fetched), and the table is written as HTML, so the
// page reads even with scripts off.
#include <absl/container/btree_set.h>

#include <boost/json.hpp>

#include "merge.h"
#include "writers.h"

namespace restrack::report {
namespace {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr std::string_view kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}
.summary{margin:0 0 1em}
.skipped{color:#a40000}
#filters{margin:.8em 0;display:flex;gap:1.2em;align-items:center}
table{border-collapse:collapse;width:100%}
th,td{padding:.35em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f2f2f4;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \25B2"}
th[aria-sort=descending]::after{content:" \25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.new{color:#c00;font-weight:600}
.known{color:#777}
summary{cursor:pointer;font-family:ui-monospace,monospace}
pre,ol.frames{font-family:ui-monospace,monospace;font-size:13px}
pre{white-space:pre-wrap;margin:.4em 0;background:#f7f7f9;padding:.5em}
ol.frames{margin:.2em 0 .6em;padding-left:2.5em}
.count{color:#555;margin-top:.4em}
.fixed li{color:#1a7f37}
)";

constexpr std::string_view kScript = R"(
(function () {
  const table = document.getElementById('sites');
  const body = table.tBodies[0];
  const kind = document.getElementById('kind-filter');
  const test = document.getElementById('test-filter');
  const shown = document.getElementById('shown');
  function filter() {
    let visible = 0;
    for (const row of body.rows) {
      const tests = JSON.parse(row.dataset.tests);
      const ok = (kind.value === '' || row.dataset.kind === kind.value) &&
                 (test.value === '' || tests.includes(test.value));
      row.hidden = !ok;
      if (ok) visible++;
    }
    shown.textContent = visible + ' of ' + body.rows.length + ' sites shown';
  }
  kind.addEventListener('change', filter);
  test.addEventListener('change', filter);
  for (const [column, th] of Array.from(table.tHead.rows[0].cells).entries()) {
    th.addEventListener('click', function () {
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      for (const other of table.tHead.rows[0].cells) other.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const numeric = th.dataset.type === 'number';
      const rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        const x = a.cells[column].dataset.value ?? a.cells[column].textContent;
        const y = b.cells[column].dataset.value ?? b.cells[column].textContent;
        const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      for (const row of rows) body.appendChild(row);
    });
  }
  filter();
})();
)";

void append_trace(std::string& html, const Trace& trace) {
  html += "<ol class=\"frames\" start=\"0\">";
  for (const Frame& frame : trace) html += "<li>" + escape(frame_text(frame)) + "</li>";
  html += "</ol>";
}

}  // namespace

std::string write_html(const Merged& merged) {
  absl::btree_set<std::string> kinds;
  absl::btree_set<std::string> tests;
  for (const Site& site : merged.sites) {
    kinds.insert(site.kind);
    for (const Count& test : site.tests) tests.insert(test.name);
  }
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>restrack report: " + escape(summary_line(merged)) + "</title>\n";
  html += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  html +=
      "<h1>restrack report</h1>\n<p class=\"summary\">" + escape(summary_line(merged)) + "</p>\n";
  if (!merged.skipped.empty()) {
    html += "<ul class=\"skipped\">";
    for (const Skipped& skipped : merged.skipped) {
      html += "<li>skipped " + escape(skipped.error) + "</li>";
    }
    html += "</ul>\n";
  }
  html +=
      "<div id=\"filters\"><label>Kind <select id=\"kind-filter\"><option value=\"\">all</option>";
  for (const std::string& kind : kinds) {
    html += "<option value=\"" + escape(kind) + "\">" + escape(kind) + "</option>";
  }
  html += "</select></label><label>Test <select id=\"test-filter\"><option value=\"\">all</option>";
  for (const std::string& test : tests) {
    html += "<option value=\"" + escape(test) + "\">" + escape(test_label(test)) + "</option>";
  }
  html += "</select></label><span id=\"shown\"></span></div>\n";
  html += "<table id=\"sites\">\n<thead><tr><th data-type=\"number\">#</th>";
  if (merged.baseline_used) html += "<th>status</th>";
  html +=
      "<th>problem</th><th>kind</th><th data-type=\"number\">count</th>"
      "<th data-type=\"number\">processes</th><th>tests</th><th>allocated at</th></tr></thead>\n"
      "<tbody>\n";
  for (std::size_t i = 0; i < merged.sites.size(); ++i) {
    const Site& site = merged.sites[i];
    boost::json::array test_names;
    std::string test_text;
    for (const Count& test : site.tests) {
      test_names.emplace_back(test.name);
      if (!test_text.empty()) test_text += ", ";
      test_text += test_label(test.name) + " (" + std::to_string(test.count) + ")";
    }
    html += "<tr class=\"site\" data-kind=\"" + escape(site.kind) + "\" data-tests=\"" +
            escape(boost::json::serialize(test_names)) + "\">";
    html += "<td class=\"num\">" + std::to_string(i + 1) + "</td>";
    if (merged.baseline_used) {
      const bool added = site.status == SiteStatus::added;
      html += std::string("<td class=\"") + (added ? "new\">new" : "known\">known") + "</td>";
    }
    html += "<td>" + escape(problem_label(site.type)) + "</td><td>" + escape(site.kind) + "</td>";
    html += "<td class=\"num\">" + std::to_string(site.count) + "</td>";
    html += "<td class=\"num\">" + std::to_string(site.processes) + "</td>";
    html += "<td>" + escape(test_text) + "</td>";
    html += "<td data-value=\"" + escape(site_label(site)) + "\"><details><summary>" +
            escape(site_label(site)) + "</summary>";
    const Problem& example = problem_at(merged, site.example);
    html += "<pre class=\"message\">" +
            escape(warning_text(merged.reports[site.example.report], example)) + "</pre>";
    for (std::size_t t = 0; t < site.traces.size(); ++t) {
      const SiteTrace& trace = site.traces[t];
      html += "<div class=\"count\">allocation trace " + std::to_string(t + 1) + " of " +
              std::to_string(site.traces.size()) + ", seen " + std::to_string(trace.count) +
              (trace.count == 1 ? " time" : " times") +
              (merged.baseline_used && trace.status == SiteStatus::added ? " (new)" : "") +
              "</div>";
      append_trace(html, trace.frames);
    }
    html += "</details></td></tr>\n";
  }
  html += "</tbody>\n</table>\n";
  if (!merged.fixed.empty()) {
    html += "<h2>Fixed since the baseline</h2>\n<ul class=\"fixed\">";
    for (const FixedSite& fixed : merged.fixed) {
      std::string trace;
      for (const std::string& frame : fixed.trace) trace += (trace.empty() ? "" : " <- ") + frame;
      html += "<li>" + escape(fixed.type + " " + fixed.kind + ": " + trace) + "</li>";
    }
    html += "</ul>\n";
  }
  html += "<script>" + std::string(kScript) + "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace restrack::report
