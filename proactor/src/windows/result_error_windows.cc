// The errno category on Windows (result_error.h). mingw-w64's C runtime knows texts for
// the classic errno values only (below 100); the socket errors above them (EADDRINUSE is
// 100) read "Unknown error" from strerror, so their texts are kept here, worded as the GNU
// C library words them, so that a message reads the same on both platforms.
#include <cerrno>
#include <cstring>
#include <string>

#include "no_destructor.h"
#include "result_error.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

const char* socket_error_text(int value) noexcept {
  switch (value) {
    case EADDRINUSE:
      return "Address already in use";
    case EADDRNOTAVAIL:
      return "Cannot assign requested address";
    case EAFNOSUPPORT:
      return "Address family not supported by protocol";
    case EALREADY:
      return "Operation already in progress";
    case EBADMSG:
      return "Bad message";
    case ECANCELED:
      return "Operation canceled";
    case ECONNABORTED:
      return "Software caused connection abort";
    case ECONNREFUSED:
      return "Connection refused";
    case ECONNRESET:
      return "Connection reset by peer";
    case EDESTADDRREQ:
      return "Destination address required";
    case EHOSTUNREACH:
      return "No route to host";
    case EIDRM:
      return "Identifier removed";
    case EINPROGRESS:
      return "Operation now in progress";
    case EISCONN:
      return "Transport endpoint is already connected";
    case ELOOP:
      return "Too many levels of symbolic links";
    case EMSGSIZE:
      return "Message too long";
    case ENETDOWN:
      return "Network is down";
    case ENETRESET:
      return "Network dropped connection on reset";
    case ENETUNREACH:
      return "Network is unreachable";
    case ENOBUFS:
      return "No buffer space available";
    case ENODATA:
      return "No data available";
    case ENOLINK:
      return "Link has been severed";
    case ENOMSG:
      return "No message of desired type";
    case ENOPROTOOPT:
      return "Protocol not available";
    case ENOSR:
      return "Out of streams resources";
    case ENOSTR:
      return "Device not a stream";
    case ENOTCONN:
      return "Transport endpoint is not connected";
    case ENOTRECOVERABLE:
      return "State not recoverable";
    case ENOTSOCK:
      return "Socket operation on non-socket";
    case ENOTSUP:
    case EOPNOTSUPP:
      return "Operation not supported";
    case EOVERFLOW:
      return "Value too large for defined data type";
    case EOWNERDEAD:
      return "Owner died";
    case EPROTO:
      return "Protocol error";
    case EPROTONOSUPPORT:
      return "Protocol not supported";
    case EPROTOTYPE:
      return "Protocol wrong type for socket";
    case ETIME:
      return "Timer expired";
    case ETIMEDOUT:
      return "Connection timed out";
    case ETXTBSY:
      return "Text file busy";
    case EWOULDBLOCK:
      return "Resource temporarily unavailable";
    default:
      return nullptr;
  }
}

class ErrnoCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "errno"; }
  std::string message(int value) const override {
    if (const char* text = socket_error_text(value)) return text;
    return std::generic_category().message(value);
  }
  std::error_condition default_error_condition(int value) const noexcept override {
    return {value, std::generic_category()};
  }
};

}  // namespace

// Never destroyed: errors may be made and read by destructors of static objects.
const std::error_category& errno_category() noexcept {
  static NoDestructor<ErrnoCategory> category;
  return *category;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
