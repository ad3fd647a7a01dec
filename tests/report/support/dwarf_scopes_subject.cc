// Code for DwarfScopesTest to read back: built with -O2 (tests/report/CMakeLists.txt), so
// that calls are inlined into one another — member functions, templates, lambdas and
// the standard library's containers and algorithms — and error paths move to cold parts
// of their functions.
#include "support/dwarf_scopes_subject.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace subject {
namespace {

struct Accumulator {
  long total = 0;
  void add(long value) { total += value * 3; }
};

inline long twice(long value) { return value * 2; }

template <typename Function>
long apply_all(const std::vector<long>& values, Function function) {
  long sum = 0;
  for (long value : values) sum += function(value);
  return sum;
}

}  // namespace

long sum_of(const std::vector<long>& values) {
  Accumulator accumulator;
  std::map<long, int> counts;
  for (long value : values) {
    accumulator.add(twice(value));
    ++counts[value];
  }
  std::vector<long> sorted(values);
  std::sort(sorted.begin(), sorted.end(), [](long a, long b) { return a > b; });
  return accumulator.total +
         apply_all(sorted, [&](long value) { return counts[value] + twice(value); });
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
  if (separator.empty()) throw std::invalid_argument("joined: an empty separator");
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

}  // namespace subject
