// The descriptor -> owner index of fd_owners.h: a two-level table of entries (chunks
// allocated on first use, never freed, so a reader never sees one go away) behind striped
// spin locks. Only restrack-run turns it on; programs without it never allocate it.
#include "fd_owners.h"

#include <cstdlib>

#include "platform.h"
#include "spin_lock.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

std::atomic<bool> g_fd_owners_kept{false};

namespace {

constexpr int kChunkBits = 12;
constexpr int kChunkEntries = 1 << kChunkBits;
constexpr int kMaxChunks = 1024;  // descriptors 0 .. 4 M - 1
constexpr int kStripes = 64;

struct Entry {
  const Kind* kind;
  TraceId trace;
};

struct Index {
  SpinLock stripes[kStripes];
  SpinLock grow;
  std::atomic<Entry*> chunks[kMaxChunks] = {};
};

// Constant-initialized and trivially destructible: usable at any time, never destroyed.
Index g_index;

Entry* entry_of(int fd, bool create) noexcept {
  if (fd < 0 || fd >= kMaxChunks * kChunkEntries) return nullptr;
  std::atomic<Entry*>& slot = g_index.chunks[fd >> kChunkBits];
  Entry* chunk = slot.load(std::memory_order_acquire);
  if (chunk == nullptr && create) {
    g_index.grow.lock();
    chunk = slot.load(std::memory_order_acquire);
    if (chunk == nullptr) {
      chunk = static_cast<Entry*>(std::calloc(kChunkEntries, sizeof(Entry)));
      slot.store(chunk, std::memory_order_release);
    }
    g_index.grow.unlock();
  }
  return chunk != nullptr ? &chunk[fd & (kChunkEntries - 1)] : nullptr;
}

SpinLock& stripe_of(int fd) noexcept {
  return g_index.stripes[static_cast<unsigned>(fd) % kStripes];
}

}  // namespace

void note_fd_owner_slow(int fd, const Kind& kind, TraceId allocation_trace) noexcept {
  Entry* entry = entry_of(fd, true);
  if (entry == nullptr) return;
  SpinLock& lock = stripe_of(fd);
  lock.lock();
  *entry = Entry{&kind, allocation_trace};
  lock.unlock();
}

void drop_fd_owner_slow(int fd) noexcept {
  Entry* entry = entry_of(fd, false);
  if (entry == nullptr) return;
  SpinLock& lock = stripe_of(fd);
  lock.lock();
  *entry = Entry{nullptr, kNoTrace};
  lock.unlock();
}

void keep_fd_owners() noexcept {
  if (g_fd_owners_kept.exchange(true)) return;
  // A fork while another thread holds a stripe would leave the child a lock nobody frees.
  register_fork_handlers(
      [] {
        g_index.grow.lock();
        for (SpinLock& stripe : g_index.stripes) stripe.lock();
      },
      [] {
        for (SpinLock& stripe : g_index.stripes) stripe.unlock();
        g_index.grow.unlock();
      },
      [] {
        for (SpinLock& stripe : g_index.stripes) stripe.unlock();
        g_index.grow.unlock();
      });
}

bool fd_owner(int fd, FdOwner* owner) noexcept {
  Entry* entry = entry_of(fd, false);
  if (entry == nullptr) return false;
  SpinLock& lock = stripe_of(fd);
  lock.lock();
  const Entry found = *entry;
  lock.unlock();
  if (found.kind == nullptr) return false;
  if (owner != nullptr) *owner = FdOwner{found.kind, found.trace};
  return true;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
