// Internal: the Operation that transports, servers and subprocesses submit.
//
// Unlike the socket awaitables (socket.cc), a transport's operations complete no future:
// the completion goes to a member function of its owner. The operation holds its owner
// weakly, so an in-flight receive never keeps a leaked transport alive — the transport is
// destroyed when its user lets go, and reports it (section F). A completion whose owner is
// gone is dropped here; an accepted socket it carries is closed (rule 16), and so is one
// reaped while the loop closes (rule 11).
//
// Owners keep a finished operation and submit it again (same buffer), so a connection in
// steady state allocates nothing per read or write.
#pragma once

#include <cerrno>
#include <memory>
#include <utility>

#include "operation.h"
#include "restrack/config.h"
#include "socket_calls.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

template <class Owner>
class TransportOperation final : public Operation {
 public:
  using Handler = void (Owner::*)(std::unique_ptr<Operation>);

  // `socket` owns `native_handle` (Operation::handle_owner).
  TransportOperation(OperationType operation_type, NativeSocket native_handle, const Socket& socket,
                     std::weak_ptr<Owner> owner, Handler handler)
      : Operation(operation_type, native_handle, &socket),
        owner_(std::move(owner)),
        handler_(handler) {}

  void complete(std::unique_ptr<Operation> self) override {
    if (std::shared_ptr<Owner> owner = owner_.lock()) {
      ((*owner).*handler_)(std::move(self));
      return;
    }
    release_result();
  }

  void abandon() noexcept override { release_result(); }

 private:
  // What a successful result created and nobody will take: an accepted socket.
  void release_result() noexcept {
    if (type == OperationType::accept && result >= 0) {
      close_socket(result);
      result = -ECANCELED;
    }
  }

  std::weak_ptr<Owner> owner_;
  Handler handler_;
};

}  // namespace internal
RESTRACK_NAMESPACE_END
