#include "restrack/proactor/call_site.h"

#include "restrack/diagnostic.h"

RESTRACK_NAMESPACE_BEGIN

std::string CallSite::to_string() const {
  if (line != 0 || (file != nullptr && file[0] != '\0')) {
    return std::string(file != nullptr ? file : "") + ":" + std::to_string(line);
  }
  if (return_address != 0) return format_return_address_location(return_address);
  return "<unknown>";
}

RESTRACK_NAMESPACE_END
