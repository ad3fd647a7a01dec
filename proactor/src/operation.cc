#include "restrack/proactor/operation.h"
#include "loop_frames.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include <spdlog/logger.h>

#include "restrack/proactor/log.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

std::atomic<std::uint64_t> freed_in_flight{0};

std::string describe_operation(const void* owner) {
  return static_cast<const Operation*>(owner)->describe();
}

}  // namespace

std::string_view to_string(OperationType type) noexcept {
  switch (type) {
    case OperationType::accept:
      return "accept";
    case OperationType::connect:
      return "connect";
    case OperationType::recv:
      return "recv";
    case OperationType::send:
      return "send";
    case OperationType::sendto:
      return "sendto";
    case OperationType::recvfrom:
      return "recvfrom";
  }
  return "operation";
}

Operation::Operation(OperationType operation_type, int descriptor, CompleteFn complete_fn,
                     std::shared_ptr<FutureBase> awaiting_future) noexcept
    : type(operation_type),
      fd(descriptor),
      future(std::move(awaiting_future)),
      complete(complete_fn) {}

Operation::~Operation() {
  if (!in_flight_) return;
  // Rule 1 broken: the kernel may still write into this memory. Count it so test suites
  // fail, and report it like any other leak of a tracked resource.
  freed_in_flight.fetch_add(1, std::memory_order_relaxed);
  proactor_logger().error("operation freed while in flight: {}", describe());
  guard_.release_and_warn([]() noexcept {});
}

void Operation::mark_submitted() noexcept {
  in_flight_ = true;
  guard_.open(kinds::operation, this, &describe_operation, internal::kLoopDispatchFrames);
}

void Operation::mark_reaped(int completion_result) noexcept {
  result = completion_result;
  in_flight_ = false;
  guard_.close();
}

void Operation::discard_result() noexcept {
  if (type == OperationType::accept && result >= 0) {
    ::close(result);
    result = -ECANCELED;
  }
}

std::string Operation::describe() const {
  std::string text(to_string(type));
  text += " fd=" + std::to_string(fd);
  switch (type) {
    case OperationType::recv:
    case OperationType::recvfrom:
    case OperationType::send:
    case OperationType::sendto:
      text += " " + std::to_string(buffer.size()) + " bytes";
      break;
    case OperationType::accept:
    case OperationType::connect:
      break;
  }
  return text;
}

std::uint64_t operations_freed_in_flight() noexcept {
  return freed_in_flight.load(std::memory_order_relaxed);
}

RESTRACK_NAMESPACE_END
