// Baselines: the sites of a known state, so that a later run counts only what is new.
//
// The file is JSON, one entry per site, sorted so that it diffs well in review:
//   {"schema":"restrack-report-baseline","version":1,"sites":[
//     {"fingerprint":"9f0c2a71e4b3d865","type":"unclosed","kind":"socket",
//      "function":"open_socket()","file":"src/client.cc","count":12}]}
// Only the fingerprint decides; the other fields are there for people and for naming the
// sites that were fixed.
#pragma once

#include <string>
#include <vector>

#include "model.h"

namespace restrack::report {

// Writes the sites of `merged` to `path`. False with `error` set if it cannot.
bool write_baseline(const std::string& path, const Merged& merged, std::string& error);

// Reads `path` and marks every site of `merged` known or added (new), lists the baseline
// sites that are gone as fixed, and recounts merged.new_problems and new_sites.
// False with `error` ("FILE: $.sites[2].fingerprint: expected a string") if the file
// cannot be read; `merged` is then unchanged.
bool apply_baseline(const std::string& path, Merged& merged, std::string& error);

}  // namespace restrack::report
