// Internal: the one parser of "key=value:key=value" settings strings, shared by
// RESTRACK_OPTIONS (options.cc) and the GoogleTest integration's RESTRACK_GTEST_OPTIONS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

struct KeyValue {
  std::string_view key;    // trimmed; the whole item when it has no '='
  std::string_view value;  // trimmed
  bool has_value = true;   // false: an item without '=', "option 'ITEM' has no value"
};

// Splits `text` at ':' into trimmed key=value pairs, in order, skipping empty items.
std::vector<KeyValue> split_key_values(std::string_view text);

// "option 'ITEM' has no value (expected key=value)".
std::string no_value_message(const KeyValue& item);

// Splits a list value at ',' into trimmed, non-empty items ("handle, socket").
std::vector<std::string_view> split_list(std::string_view value);

// `text` without leading and trailing ASCII white space.
std::string_view trim(std::string_view text);

// "'text'", for messages.
std::string quoted(std::string_view text);

}  // namespace internal
RESTRACK_NAMESPACE_END
