// Turns a version 1 report, as today's tracker writes it, into the version 2 shape of
// docs/report-format.md, so that the reader's v2 path is tested on the output of real
// runs until the tracker writes v2 itself.
#pragma once

#include <string>

struct ConvertOptions {
  // Empty every function, file and line: a report whose writer could not symbolize.
  bool strip_symbols = false;
  // Fill modules[].build_id from the binaries' GNU build-id notes (readelf -n).
  bool build_ids = true;
  // A file test_names.cc wrote: fills "test" the way the GoogleTest listener blames.
  std::string test_names;
};

// The v2 text for the v1 text `v1`. Throws std::runtime_error on input it cannot read.
std::string convert_v1_to_v2(const std::string& v1, const ConvertOptions& options);

// The GNU build id of an ELF file as hex, from `readelf -n`; empty if it has none.
std::string read_build_id(const std::string& path);
