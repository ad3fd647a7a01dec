// dwarf_scopes::UnitScopes (tracker/src/shared/dwarf_scopes.h), which both symbolizers use
// to expand inlined calls, against binutils' addr2line -i: at every byte of a unit built
// with -O2, the same frames at the same file:line; and their names, qualified from the
// unit's index, as libdw's walk to each declaration qualifies them. (libdw's own dwarf_getscopes is
// no reference: under the innermost inlined call it gives the scopes of that function's abstract
// definition, not the calls it was inlined into.)
#include "dwarf_scopes.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gtest/gtest.h>

#include <absl/strings/str_cat.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "support/dwarf_scopes_subject.h"
#include "support/process.h"

namespace {

using restrack::dwarf_scopes::enclosing_scopes;
using restrack::dwarf_scopes::function_name;
using restrack::dwarf_scopes::InlinedFrame;
using restrack::dwarf_scopes::UnitScopes;

// "file:line" of each frame, innermost first, with the file's directory left out:
// addr2line and libdw spell some directories differently.
std::string place(const char* file, int line) {
  std::string_view name = file != nullptr ? file : "??";
  name.remove_prefix(name.find_last_of('/') + 1);
  return std::string(name) + ":" + std::to_string(line);
}

// What binutils' addr2line -i finds at each of `addresses` (in the unit's own terms, which
// for this executable are its link-time addresses): a "file:line" per frame, innermost
// first. Its own implementation of DWARF, independent of libdw.
std::map<Dwarf_Addr, std::vector<std::string>> by_addr2line(
    const std::vector<Dwarf_Addr>& addresses) {
  char self[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::vector<std::string> arguments = {"-a", "-i", "-e",
                                        std::string(self, length > 0 ? length : 0)};
  for (Dwarf_Addr address : addresses) arguments.push_back(absl::StrCat("0x", absl::Hex(address)));
  const ProcessResult run = run_process("/usr/bin/addr2line", arguments);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::map<Dwarf_Addr, std::vector<std::string>> found;
  std::vector<std::string>* frames = nullptr;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("0x")) {
      frames = &found[std::stoull(line, nullptr, 16)];
      continue;
    }
    if (frames == nullptr) continue;
    line = line.substr(0, line.find(" (discriminator"));
    const std::size_t colon = line.rfind(':');
    std::string file = line.substr(0, colon);
    const int number = colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
    frames->push_back(place(file.c_str(), number));
  }
  return found;
}

class DwarfScopesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Keeps the subject linked in.
    ASSERT_EQ(subject::sum_of({1, 2, 2}), 45);
    ASSERT_EQ(subject::joined({"a", "b"}, ", "), "a, b");
    session_ = dwfl_begin(&callbacks_);
    ASSERT_NE(session_, nullptr);
    dwfl_report_begin(session_);
    module_ = dwfl_report_offline(session_, "self", "/proc/self/exe", -1);
    dwfl_report_end(session_, nullptr, nullptr);
    ASSERT_NE(module_, nullptr) << dwfl_errmsg(-1);
  }
  void TearDown() override {
    if (session_ != nullptr) dwfl_end(session_);
  }

  // The compilation unit of the subject.
  Dwarf_Die* subject_unit() {
    Dwarf_Addr bias = 0;
    for (Dwarf_Die* unit = dwfl_module_nextcu(module_, nullptr, &bias); unit != nullptr;
         unit = dwfl_module_nextcu(module_, unit, &bias)) {
      const char* name = dwarf_diename(unit);
      if (name != nullptr && std::string_view(name).ends_with("dwarf_scopes_subject.cc")) {
        return unit;
      }
    }
    return nullptr;
  }

  static inline const Dwfl_Callbacks callbacks_ = {nullptr, dwfl_standard_find_debuginfo,
                                                   dwfl_offline_section_address, nullptr};
  Dwfl* session_ = nullptr;
  Dwfl_Module* module_ = nullptr;
};

TEST_F(DwarfScopesTest, FindsTheInlinedCallsAddr2lineFindsAtEveryAddressOfAnOptimizedUnit) {
  Dwarf_Die* unit = subject_unit();
  ASSERT_NE(unit, nullptr);
  const UnitScopes scopes(unit);

  std::map<Dwarf_Addr, std::vector<std::string>> ours;
  std::size_t nested = 0;       // addresses in calls inlined into inlined calls
  std::size_t qualified = 0;    // inlined frames named by their declaration's scopes
  std::set<std::string> names;  // their names
  Dwarf_Addr base = 0;
  Dwarf_Addr low = 0;
  Dwarf_Addr high = 0;
  for (ptrdiff_t at = 0; (at = dwarf_ranges(unit, at, &base, &low, &high)) > 0;) {
    // A range at 0 is code the linker dropped (an inline function's copy it took from
    // another unit).
    if (low == 0) continue;
    for (Dwarf_Addr pc = low; pc < high; ++pc) {
      const char* file = nullptr;
      int line = 0;
      if (Dwarf_Line* row = dwarf_getsrc_die(unit, pc)) {
        file = dwarf_linesrc(row, nullptr, nullptr);
        dwarf_lineno(row, &line);
      }
      std::vector<std::string>& frames = ours[pc];
      for (InlinedFrame& frame : scopes.inlined_frames(pc, file, line)) {
        frames.push_back(place(frame.file, frame.line));
        // The name as libdw's walk to the declaration qualifies it.
        EXPECT_EQ(frame.function, function_name(&frame.call, enclosing_scopes)) << std::hex << pc;
        Dwarf_Attribute attribute;
        if (dwarf_attr_integrate(&frame.call, DW_AT_linkage_name, &attribute) == nullptr) {
          ++qualified;
          names.insert(frame.function);
        }
      }
      frames.push_back(place(file, line));
      if (frames.size() >= 3) ++nested;
    }
  }
  // The unit is what the test is about: optimized code with inlined calls nested.
  EXPECT_GT(ours.size(), 1000u);
  EXPECT_GT(nested, 100u);
  EXPECT_GT(qualified, 100u);
  // A member function of a class in an unnamed namespace, and a lambda: named after the
  // function it is in, as the demangler names the lambda's class, without its number.
  EXPECT_TRUE(names.contains("subject::(anonymous namespace)::Accumulator::add"));
  EXPECT_TRUE(names.contains(
      "subject::sum_of(std::vector<long, std::allocator<long> > const&)::{lambda}::operator()"));

  std::vector<Dwarf_Addr> addresses;
  addresses.reserve(ours.size());
  for (const auto& [address, frames] : ours) addresses.push_back(address);
  const std::map<Dwarf_Addr, std::vector<std::string>> theirs = by_addr2line(addresses);
  std::size_t differing = 0;
  for (const auto& [address, frames] : ours) {
    const auto found = theirs.find(address);
    std::vector<std::string> expected =
        found != theirs.end() ? found->second : std::vector<std::string>{};
    // The innermost place is the line table's, which libdw and addr2line read each their
    // own way (they differ at two addresses of this unit's 3,600, at the end of a
    // sequence); the call sites and the number of frames are the scopes' work.
    if (!expected.empty()) expected.front() = frames.front();
    if (frames != expected && ++differing <= 5) {
      ADD_FAILURE() << "at 0x" << std::hex << address
                    << "\nours:      " << ::testing::PrintToString(frames)
                    << "\naddr2line: " << ::testing::PrintToString(expected);
    }
  }
  EXPECT_EQ(differing, 0u) << "of " << ours.size() << " addresses";
}

}  // namespace
