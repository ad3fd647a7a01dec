#include "operation.h"

#include <atomic>
#include <cstring>
#include <string>

#include "log.h"
#include "loop_frames.h"
#include "recycler.h"
#include "restrack/kind.h"
#include "restrack/proactor/event_loop.h"

RESTRACK_NAMESPACE_BEGIN

namespace {

std::atomic<std::uint64_t> freed_in_flight{0};

std::string describe_operation(const void* owner) {
  return static_cast<const internal::Operation*>(owner)->describe();
}

}  // namespace

std::uint64_t operations_freed_in_flight() noexcept {
  return freed_in_flight.load(std::memory_order_relaxed);
}

namespace internal {

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
    case OperationType::read:
      return "read";
    case OperationType::write:
      return "write";
    case OperationType::accept_pipe:
      return "accept_pipe";
    case OperationType::wait_process:
      return "wait_process";
  }
  return "operation";
}

namespace {

// Receive and send buffers up to kLargestBlock bytes come from the recycler; larger ones
// (a transport's reads) are kept by their operation and reused.
char* allocate_buffer(std::size_t capacity) {
  return capacity <= kLargestBlock ? static_cast<char*>(recycled_allocate(capacity))
                                   : new char[capacity];
}

void free_buffer(char* data, std::size_t capacity) noexcept {
  if (capacity <= kLargestBlock) {
    recycled_deallocate(data, capacity);
  } else {
    delete[] data;
  }
}

}  // namespace

OperationBuffer::~OperationBuffer() { free_buffer(data_, capacity_); }

void OperationBuffer::allocate(std::size_t size) {
  // Not zero-filled: no pass over memory the kernel is about to fill.
  if (data_ == nullptr || size > capacity_) {
    const std::size_t capacity = size == 0 ? 1 : size;
    char* data = allocate_buffer(capacity);
    free_buffer(data_, capacity_);
    data_ = data;
    capacity_ = capacity;
  }
  size_ = size;
}

void OperationBuffer::assign(std::string_view data) {
  allocate(data.size());
  if (!data.empty()) std::memcpy(data_, data.data(), data.size());
}

void* Operation::operator new(std::size_t size) { return recycled_allocate(size); }

void Operation::operator delete(void* block, std::size_t size) noexcept {
  recycled_deallocate(block, size);
}

namespace {

bool has_address(OperationType type) noexcept {
  return type == OperationType::accept || type == OperationType::connect ||
         type == OperationType::sendto || type == OperationType::recvfrom;
}

}  // namespace

Operation::Operation(OperationType operation_type, NativeSocket native_handle, const Socket* owner)
    : type(operation_type),
      handle(native_handle),
      handle_owner(owner),
      address(has_address(operation_type) ? std::make_unique<OperationAddress>() : nullptr) {}

Operation::~Operation() {
  if (!in_flight_) return;
  // Rule 1 broken: the kernel may still write into this memory. Count it so test suites
  // fail, and report it like any other leak of a tracked resource.
  freed_in_flight.fetch_add(1, std::memory_order_relaxed);
  try {
    proactor_logger().error("operation freed while in flight: {}", describe());
  } catch (...) {
  }
  guard_.release_and_warn([]() noexcept {});
}

void Operation::mark_submitted() noexcept {
  in_flight_ = true;
  handle_owner = nullptr;
  guard_.open(kinds::operation, this, &describe_operation, kLoopDispatchFrames);
}

void Operation::mark_reaped(int completion_result) noexcept {
  result = completion_result;
  in_flight_ = false;
  // Unregistered without a close trace: only the backend ends an operation, once, so no
  // "closed twice" report could ever show one, and the walk would be paid per request.
  guard_.forget();
}

std::string Operation::describe() const {
  std::string text(to_string(type));
  text += " fd=" + std::to_string(handle);
  switch (type) {
    case OperationType::recv:
    case OperationType::recvfrom:
    case OperationType::send:
    case OperationType::sendto:
    case OperationType::read:
    case OperationType::write:
      text += " " + std::to_string(buffer.size()) + " bytes";
      break;
    case OperationType::accept:
    case OperationType::accept_pipe:
    case OperationType::connect:
    case OperationType::wait_process:
      break;
  }
  return text;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
