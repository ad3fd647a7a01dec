// Internal: one line naming an exception, for logs and reports.
#pragma once

#include <exception>
#include <string>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// "std::runtime_error: boom" (the demangled dynamic type and what()),
// "restrack::CancelledError", "unknown exception" for anything else; "" for null.
std::string describe_exception(const std::exception_ptr& error) noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
