#include "key_value.h"

#include <absl/strings/ascii.h>
#include <absl/strings/str_split.h>

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// Debian's Abseil keeps absl::string_view a type of its own: convert at the boundary.
absl::string_view to_absl(std::string_view text) { return {text.data(), text.size()}; }
std::string_view from_absl(absl::string_view text) { return {text.data(), text.size()}; }

std::string_view trimmed(std::string_view text) {
  return from_absl(absl::StripAsciiWhitespace(to_absl(text)));
}

}  // namespace

std::vector<KeyValue> split_key_values(std::string_view text) {
  std::vector<KeyValue> pairs;
  for (absl::string_view piece : absl::StrSplit(to_absl(text), ':')) {
    const std::string_view item = trimmed(from_absl(piece));
    if (item.empty()) continue;
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      pairs.push_back(KeyValue{item, {}, false});
    } else {
      pairs.push_back(
          KeyValue{trimmed(item.substr(0, equals)), trimmed(item.substr(equals + 1)), true});
    }
  }
  return pairs;
}

std::string no_value_message(const KeyValue& item) {
  return "option " + quoted(item.key) + " has no value (expected key=value)";
}

std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> items;
  for (absl::string_view piece : absl::StrSplit(to_absl(value), ',', absl::SkipWhitespace())) {
    items.push_back(trimmed(from_absl(piece)));
  }
  return items;
}

std::string_view trim(std::string_view text) { return trimmed(text); }

std::string quoted(std::string_view text) {
  std::string out = "'";
  out += text;
  out += '\'';
  return out;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
