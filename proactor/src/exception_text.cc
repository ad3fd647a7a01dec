#include "exception_text.h"

#include <cxxabi.h>

#include <cstdlib>
#include <typeinfo>

#include "restrack/proactor/errors.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

std::string demangled(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  if (status != 0 || name == nullptr) return type.name();
  std::string result(name);
  std::free(name);
  // The ABI namespace is an implementation detail (see restrack/config.h).
  for (std::string_view inline_namespace : {"tracking_on::", "tracking_off::"}) {
    for (auto at = result.find(inline_namespace); at != std::string::npos;
         at = result.find(inline_namespace, at)) {
      result.erase(at, inline_namespace.size());
    }
  }
  return result;
}

}  // namespace

std::string describe_exception(const std::exception_ptr& error) noexcept {
  if (error == nullptr) return {};
  try {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& exception) {
      return demangled(typeid(exception)) + ": " + exception.what();
    } catch (const CancelledError&) {
      return "restrack::CancelledError";
    } catch (...) {
      return "unknown exception";
    }
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace internal
RESTRACK_NAMESPACE_END
