// Code for DwarfScopesTest to read back (dwarf_scopes_subject.cc).
#pragma once

#include <string>
#include <vector>

namespace subject {

long sum_of(const std::vector<long>& values);
std::string joined(const std::vector<std::string>& parts, const std::string& separator);

}  // namespace subject
