// Internal: the bookkeeping every backend shares — the table of in-flight operations
// with generation-tagged keys (rule 6), abandoning operations at close (rules 11, 13), and
// the cancel-then-drain sequence of Backend::close() (rule 10).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "operation.h"
#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

class OperationTable {
 public:
  // Takes `operation`, assigns its key and marks it submitted (it enters the live set).
  // Throws std::length_error if every issuable slot index is in use.
  OperationKey insert(std::unique_ptr<Operation> operation);

  // The operation under `key`, or null if no in-flight operation has that key.
  Operation* find(OperationKey key) noexcept;

  // Removes the operation named by a completion and marks it reaped with `result`. A key
  // that names nothing (stale generation, never issued) is logged at debug level and
  // yields null (rule 6).
  std::unique_ptr<Operation> reap(OperationKey key, int result);

  std::size_t size() const noexcept { return size_; }

  // The in-flight operations, in slot order.
  std::vector<Operation*> operations() const;

  // Gives up ownership of every remaining operation without freeing it: the kernel may
  // still write into them (rule 10, after the close deadline).
  void leak_all() noexcept;

  // Keys whose slot index is at or above this value are never issued; backends use them
  // for their own requests (wake-up reads, cancellations).
  static constexpr std::uint32_t kFirstReservedIndex = 0xFFFF'FF00u;

  // For tests: the generation the next operation in slot `index` gets (the slot is created
  // if needed and must be free).
  void set_generation_for_test(std::uint32_t index, std::uint32_t generation);

 private:
  struct Slot {
    std::unique_ptr<Operation> operation;
    std::uint32_t generation = 1;
  };
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::size_t size_ = 0;
};

struct DrainHooks {
  // Asks the kernel to cancel one operation.
  std::function<void(OperationKey)> cancel;
  // Waits up to the timeout for completions and abandons (Operation::abandon) every
  // operation reaped, then frees it.
  std::function<void(std::chrono::nanoseconds)> reap_and_abandon;
  // True while a request of the backend's own (not in the table) is still in flight.
  std::function<bool()> internal_pending;
};

// Rule 10: cancels every operation in `table`, then reaps until nothing is in flight,
// logging about once a second what is still pending with its submit trace. At `deadline`
// the remaining operations are reported and leaked. Returns false if any were leaked.
bool cancel_and_drain(OperationTable& table, std::chrono::milliseconds deadline,
                      const DrainHooks& hooks);

}  // namespace internal
RESTRACK_NAMESPACE_END
