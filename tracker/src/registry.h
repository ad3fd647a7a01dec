// Internal: the registry of open resources — the middle layer of the tracker.
//
// Each thread registers into a shard of its own (threads that end hand theirs on), so
// opens and closes write nothing that other threads write: no process-wide counter, no
// shared cache line. A shard is slots pointing at the guards' records (stable chunks,
// reused through free lists), a serial counter of its own, a journal of its recent opens
// for Snapshot::opened_since(), and a spin lock. The shard's own thread opens without the
// lock (it is the only writer of the slots it hands out), and closes without it while no
// other thread needs the shard (an asymmetric fence, see registry.cc; in a large shard
// such a close leaves its slot to be emptied in a batch, before any query reads the
// slots); moves, queries and other threads' closes take it. A guard's record knows its
// shard and slot, so closing from another thread takes that shard's lock only. Past 4,095
// threads alive at once, the rest share one shard and lock to open.
//
// Queries copy what they need in short locked batches and hand each batch over outside
// the lock. The registry is never destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "restrack/config.h"
#include "restrack/internal/registry_node.h"
#include "restrack/live.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Adds an idle node to the calling thread's shard and marks it open, with the calling
// thread's id and the time.
void register_node(RegistryNode& node) noexcept;

// Removes an open node and moves it to `next` (closed or idle), recording `close_trace`.
// Returns false, leaving it alone, if it was not open any more (another thread closed it
// first).
bool unregister_node(RegistryNode& node, GuardState next, TraceId close_trace = kNoTrace) noexcept;

// Moves the registration of open `from` to `to` (an idle node), with a new owner.
void move_registration(RegistryNode& to, RegistryNode& from, const void* new_owner) noexcept;

// The serial of an open node; 0 if it is not open.
std::uint64_t serial_of(const RegistryNode& node) noexcept;

// The text between < and > for a node: its describe callback (guarded: one that throws,
// or opens or closes tracked resources, gives "<kind at 0xADDRESS>" instead).
std::string describe_node(const RegistryNode& node) noexcept;

// The coarse clock in the registry's units (RegistryNode::opened_at), and the age in
// nanoseconds of something opened at `opened_at`.
std::uint32_t registry_now() noexcept;
std::int64_t age_ns(std::uint32_t opened_at) noexcept;

// The serial each shard has reached (Snapshot).
std::vector<std::uint64_t> shard_serials() noexcept;

// Calls `visit` with every open resource (opened after `since`, when given), a batch at
// a time, outside any registry lock. Not sorted.
void for_each_live(const std::vector<std::uint64_t>* since,
                   const std::function<void(std::vector<ResourceInfo>&)>& visit) noexcept;

// For tests: how the calling thread's shard has closed resources so far, whether its
// owner can close without the lock on this platform, and how many more closes under the
// lock it makes before it does (0: it does now).
struct OwnerCloseState {
  std::uint64_t without_lock = 0;
  std::uint64_t under_lock = 0;  // the owner's and other threads'
  bool lock_free_possible = false;
  std::uint32_t closes_until_lock_free = 0;
};
OwnerCloseState owner_close_state_for_test() noexcept;
// For tests: lets the calling thread's shard close without the lock at once, as after
// enough closes under it, where this platform allows it.
void close_without_lock_from_now_for_test() noexcept;

// Held across fork() by the tracker's fork handlers: the pool lock and every shard lock.
void lock_registry_for_fork() noexcept;
void unlock_registry_after_fork() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
