#include "operation_table.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "log.h"
#include "restrack/diagnostic.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

namespace {

constexpr int kIndexBits = 32;
constexpr OperationKey kIndexMask = 0xFFFF'FFFFu;

OperationKey make_key(std::uint32_t index, std::uint32_t generation) {
  return (OperationKey{generation} << kIndexBits) | index;
}

// "  recv fd=7 4096 bytes, submitted at:\n  #0 ...": one pending operation for the close
// progress log.
std::string describe_pending(const std::vector<Operation*>& pending) {
  std::string text;
  for (const Operation* operation : pending) {
    text += "\n  " + operation->describe() + ", submitted at:\n";
    text += format_trace(operation->submit_trace());
    if (!text.empty() && text.back() == '\n') text.pop_back();
  }
  return text;
}

}  // namespace

OperationKey OperationTable::insert(std::unique_ptr<Operation> operation) {
  std::uint32_t index;
  if (free_slots_.empty()) {
    if (slots_.size() >= kFirstReservedIndex) {
      throw std::length_error("too many operations in flight for one backend");
    }
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    index = free_slots_.back();
    free_slots_.pop_back();
  }
  Slot& slot = slots_[index];
  operation->key = make_key(index, slot.generation);
  operation->mark_submitted();
  slot.operation = std::move(operation);
  ++size_;
  return slot.operation->key;
}

Operation* OperationTable::find(OperationKey key) noexcept {
  const auto index = static_cast<std::uint32_t>(key & kIndexMask);
  if (index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  if (slot.operation == nullptr || slot.operation->key != key) return nullptr;
  return slot.operation.get();
}

std::unique_ptr<Operation> OperationTable::reap(OperationKey key, int result) {
  if (find(key) == nullptr) {
    // Rule 6: a completion for a key nobody holds is noise, never a crash.
    internal::proactor_logger().debug(
        "ignoring a completion for unknown operation key {:#x} (result {})", key, result);
    return nullptr;
  }
  const auto index = static_cast<std::uint32_t>(key & kIndexMask);
  Slot& slot = slots_[index];
  std::unique_ptr<Operation> operation = std::move(slot.operation);
  // A new generation: this key can never name another operation (rule 6). Generation 0
  // is skipped when the counter wraps, so no key of slot 0 is ever kNoOperation.
  if (++slot.generation == 0) slot.generation = 1;
  free_slots_.push_back(index);
  --size_;
  operation->mark_reaped(result);
  return operation;
}

std::vector<Operation*> OperationTable::operations() const {
  std::vector<Operation*> result;
  result.reserve(size_);
  for (const Slot& slot : slots_) {
    if (slot.operation != nullptr) result.push_back(slot.operation.get());
  }
  return result;
}

namespace {

// Operations leaked on purpose: the kernel may still write into them. They stay listed
// (and in the live set) so leak checkers and debuggers can still find them. Never
// destroyed.
std::vector<Operation*>& deliberately_leaked() {
  static auto* const leaked = new std::vector<Operation*>();
  return *leaked;
}

}  // namespace

void OperationTable::leak_all() noexcept {
  for (Slot& slot : slots_) {
    if (slot.operation == nullptr) continue;
    try {
      deliberately_leaked().push_back(slot.operation.get());
    } catch (...) {
      // Out of memory: the operation is leaked all the same, just not listed.
    }
    static_cast<void>(slot.operation.release());
  }
  size_ = 0;
}

void OperationTable::set_generation_for_test(std::uint32_t index, std::uint32_t generation) {
  while (slots_.size() <= index) {
    free_slots_.push_back(static_cast<std::uint32_t>(slots_.size()));
    slots_.emplace_back();
  }
  slots_[index].generation = generation;
  // Hand out `index` next.
  std::erase(free_slots_, index);
  free_slots_.push_back(index);
}

bool cancel_and_drain(OperationTable& table, std::chrono::milliseconds deadline,
                      const DrainHooks& hooks) {
  using Clock = std::chrono::steady_clock;
  for (Operation* operation : table.operations()) hooks.cancel(operation->key);
  const Clock::time_point start = Clock::now();
  const Clock::time_point give_up = start + deadline;
  Clock::time_point next_progress = start + std::chrono::seconds(1);
  // Cancellations the kernel answered at once are reaped even with a zero deadline.
  hooks.reap_and_abandon(std::chrono::nanoseconds(0));
  while (table.size() > 0 || hooks.internal_pending()) {
    const Clock::time_point now = Clock::now();
    if (now >= give_up) break;
    if (now >= next_progress) {
      internal::proactor_logger().info("closing: {} operations still in flight:{}", table.size(),
                                       describe_pending(table.operations()));
      next_progress = now + std::chrono::seconds(1);
    }
    hooks.reap_and_abandon(std::min(give_up, next_progress) - now);
  }
  if (table.size() == 0) return true;
  internal::proactor_logger().error(
      "closing: {} operations did not complete within {} ms of their cancellation; their "
      "memory is leaked on purpose because the kernel may still write into it:{}",
      table.size(), deadline.count(), describe_pending(table.operations()));
  table.leak_all();
  return false;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
