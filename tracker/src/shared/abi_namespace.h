// Name rules the tracker and restrack-report share: restrack-report symbolizes offline
// what the tracker would have symbolized live, and must print the same names. Header only
// and free of the tracker's types, so that the report tool includes it without linking a
// tracker.
#pragma once

#include <string>
#include <string_view>

namespace restrack::names {

// Removes the ABI namespace ("v1_tracking_on::") from a name, whatever the version
// number: users read restrack::Foo.
inline void strip_abi_namespace(std::string& name) {
  for (std::string_view mode : {"_tracking_on::", "_tracking_off::"}) {
    for (std::size_t at = name.find(mode); at != std::string::npos; at = name.find(mode, at)) {
      std::size_t start = at;
      while (start > 0 && name[start - 1] >= '0' && name[start - 1] <= '9') --start;
      if (start > 0 && name[start - 1] == 'v') {
        --start;
        name.erase(start, at + mode.size() - start);
        at = start;
      } else {
        at += mode.size();
      }
    }
  }
}

}  // namespace restrack::names
