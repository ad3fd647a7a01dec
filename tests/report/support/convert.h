// Variants of a report the tracker wrote (schema version 2), for the reader's other
// paths: the same report as a writer that could not symbolize would have written it, and
// as trackers before version 2 wrote it.
#pragma once

#include <string>

// `report` with every frame's function, file and line emptied: module + offset only.
// Throws std::runtime_error on input that is not a version 2 report.
std::string without_symbols(const std::string& report);

// `report` in schema version 1: traces inline in each entry, modules by path, a resource
// open at exit listed in full in both $.live and $.diagnostics, no test names. Throws
// std::runtime_error on input that is not a version 2 report.
std::string as_version_1(const std::string& report);

// The GNU build id of an ELF file as hex, from `readelf -n`; empty if it has none.
std::string read_build_id(const std::string& path);
