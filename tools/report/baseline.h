// Baselines: the sites of a known state, so that a later run counts only what is new.
//
// The file is JSON, one entry per distinct allocation trace (a site has one or more),
// sorted so that it diffs well in review:
//   {"schema":"restrack-report-baseline","version":1,"traces":[
//     {"fingerprint":"9f0c2a71e4b3d865","type":"unclosed","kind":"socket",
//      "trace":["open_socket() in src/client.cc","main in src/main.cc"],"problems":12}]}
// Only the fingerprint decides (type, kind and the frames without line numbers, so that
// edits above a leak do not make it new); the other fields are for people and for naming
// what was fixed.
#pragma once

#include <string>
#include <vector>

#include "model.h"

namespace restrack::report {

// Writes the sites of `merged` to `path`. False with `error` set if it cannot.
bool write_baseline(const std::string& path, const Merged& merged, std::string& error);

// Reads `path` and marks every trace of every site of `merged` known or added (new), and
// each site added when any of its traces is; lists the baseline traces no longer seen as
// fixed, and recounts merged.new_problems and new_sites. False with `error`
// ("FILE: $.traces[2].fingerprint: expected a string") if the file cannot be read;
// `merged` is then unchanged.
bool apply_baseline(const std::string& path, Merged& merged, std::string& error);

}  // namespace restrack::report
