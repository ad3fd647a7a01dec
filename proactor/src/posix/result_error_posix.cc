// The errno category on Linux: the system's own (result_error.h).
#include "result_error.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

const std::error_category& errno_category() noexcept { return std::system_category(); }

}  // namespace internal
RESTRACK_NAMESPACE_END
