// restrack/kind.h — the category a tracked resource belongs to.
//
// A Kind is a static descriptor: its name is the word a user reads in a warning
// ("unclosed socket <...>") and matches `kind:NAME` lines of a suppressions file.
// Define your own with static storage duration; the tracker keeps a pointer to it.
//
//   inline constexpr restrack::Kind kDatabaseConnection{"database connection"};
#pragma once

#include <string_view>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN

struct Kind {
  std::string_view name;
};

// The kinds restrack's own objects use.
namespace kinds {
inline constexpr Kind handle{"handle"};
inline constexpr Kind socket{"socket"};
inline constexpr Kind pipe{"pipe"};
inline constexpr Kind transport{"transport"};
inline constexpr Kind server{"server"};
inline constexpr Kind event_loop{"event loop"};
inline constexpr Kind operation{"operation"};
inline constexpr Kind task{"task"};
inline constexpr Kind subprocess{"subprocess"};
}  // namespace kinds

RESTRACK_NAMESPACE_END
