#include "registry.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <type_traits>
#include <utility>

#include "capture.h"
#include "logging.h"
#include "platform.h"
#include "spin_lock.h"
#include "thread_slot.h"

// The owner's close of a traced node whose close trace replays runs in close_node()'s own
// body (see close_node): not on Windows, whose walk starts from registers, nor where a
// sanitizer checks loads, since the replay reads the stack's frame records.
#if defined(_WIN32) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_HWADDRESS__)
#define RESTRACK_CLOSE_INLINE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(hwaddress_sanitizer)
#define RESTRACK_CLOSE_INLINE 0
#else
#define RESTRACK_CLOSE_INLINE 1
#endif
#else
#define RESTRACK_CLOSE_INLINE 1
#endif

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

constexpr std::uint32_t kChunkEntries = 4096;
constexpr std::uint32_t kMaxChunks = 1024;  // 4 M slots per shard
constexpr std::uint32_t kMaxShards = 4096;
constexpr std::uint64_t kJournalSize = 4096;  // recent opens per shard, for opened_since
constexpr int kShardShift = 48;
constexpr std::uint64_t kLocalMask = (std::uint64_t{1} << kShardShift) - 1;
// A query holds a shard's lock for at most this many describe calls (or entries looked
// at), so that the shard's own thread never waits long.
constexpr int kDescribesPerHold = 64;
constexpr std::uint32_t kEntriesPerHold = 16384;
// The owner's closes under the lock before it closes without it again (see
// Shard::owner_fast): at least this many, doubled while other threads keep taking the
// lock soon after, up to the maximum.
constexpr std::uint32_t kLockedClosesMin = 64;
constexpr std::uint32_t kLockedClosesMax = std::uint32_t{1} << 20;
// A slot. The owner thread of an exclusive shard writes slots without the lock, so every
// read or write that can race goes through std::atomic_ref: `node` is published with
// release after the record and the serial are written. A slot holds an open node while its
// live byte (see Shard) is set; otherwise `node` may still name a closed node, which
// nothing may read.
struct Entry {
  RegistryNode* node;
  std::uint64_t serial;  // meaningful while the slot holds an open node
};
// A slot's live byte (see Shard).
enum class Live : std::uint8_t { no = 0, yes = 1 };
// A chunk of slots' entries.
constexpr std::size_t kChunkBytes = kChunkEntries * sizeof(Entry);
// Each shard lies at the start of an address range of its own, its slots' live bytes
// kLiveOffset bytes after it, committed a chunk's worth at a time.
constexpr std::size_t kLiveOffset = std::size_t{64} << 10;
constexpr std::size_t kShardReservation =
    kLiveOffset + std::size_t{kMaxChunks} * kChunkEntries * sizeof(Live);

template <class T>
std::atomic_ref<T> atomically(T& value) noexcept {
  return std::atomic_ref<T>(value);
}

// A journal record: the slot in the high half, the serial's low 32 bits in the low half.
// A query checks the serial: the owner may have written a later open over it meanwhile.
std::uint64_t journal_record(std::uint32_t slot, std::uint64_t serial) noexcept {
  return (std::uint64_t{slot} << 32) | (serial & 0xffffffffu);
}

// Free slots, last in first out: a vector without exceptions whose push, when there is
// room, is a store and an increment that always inlines (std::vector::push_back in the
// owner's close did not, and cost 1 ns an open+close). It keeps a pointer to its top,
// not a size: the owner's close then loads one word to push, not two.
class SlotStack {
 public:
  SlotStack() = default;
  SlotStack(const SlotStack&) = delete;
  SlotStack& operator=(const SlotStack&) = delete;
  ~SlotStack() { std::free(bottom_); }

  bool empty() const noexcept { return top_ == bottom_; }
  std::uint32_t pop() noexcept { return *--top_; }
  bool has_room() const noexcept { return top_ != end_; }
  void push_in_room(std::uint32_t slot) noexcept { *top_++ = slot; }
  // False, and the slot is not kept, when memory runs out.
  bool push(std::uint32_t slot) noexcept {
    if (!has_room() && !grow()) return false;
    push_in_room(slot);
    return true;
  }
  // Room for `count` slots in all; false when memory runs out.
  bool reserve(std::uint32_t count) noexcept {
    while (capacity() < count) {
      if (!grow()) return false;
    }
    return true;
  }
  // Moves every slot of `other` onto this stack, which has room for them.
  void take_all(SlotStack& other) noexcept {
    while (!other.empty()) push_in_room(other.pop());
  }

 private:
  std::size_t capacity() const noexcept { return static_cast<std::size_t>(end_ - bottom_); }
  __attribute__((noinline)) bool grow() noexcept {
    const std::size_t capacity = end_ == bottom_ ? 64 : this->capacity() * 2;
    const auto size = static_cast<std::size_t>(top_ - bottom_);
    void* grown = std::realloc(bottom_, capacity * sizeof(std::uint32_t));
    if (grown == nullptr) return false;
    bottom_ = static_cast<std::uint32_t*>(grown);
    top_ = bottom_ + size;
    end_ = bottom_ + capacity;
    return true;
  }

  std::uint32_t* bottom_ = nullptr;
  std::uint32_t* top_ = nullptr;
  std::uint32_t* end_ = nullptr;
};

// A shard is exclusive (one thread at a time opens on it, without its lock) or, once more
// threads are alive than shards, the one shared overflow shard (every open locks).
//
// Who writes what: the opening thread writes `serial`, `used`, `chunks`,
// `own_free` and the journal (under the lock only in the shared shard); other threads'
// closes, moves and the draining of `returned` take the lock, and so do the owner's closes
// unless it may close without it (below). A query takes the lock, so nothing it reads is
// closed or moved meanwhile; opens that it races are newer than what it was asked for.
//
// The owner's closes. While `owner_fast` is set, the thread that owns an exclusive shard
// closes its resources without the lock, with no atomic read-modify-write: it sets the
// low bit of `owner_closes` (owner_closing()), and closes only if `owner_fast` is still
// set after that (a compiler barrier between the two). Any other thread that takes the
// lock first clears `owner_fast`, runs process_barrier() and waits until the bit is clear
// (exclude_owner): the barrier orders the owner's two steps against its own, so either it
// sees the owner's close in progress and waits for it, or the owner sees the flag cleared
// and takes the lock. The owner sets `owner_fast` again, under the lock, after a number of
// closes under it (`locked_closes_wanted`, doubled while other threads keep coming back
// soon after). Without process_barrier() (Windows) the owner always takes the lock.
//
// Which slots hold open nodes is a byte per slot, the live byte, at a fixed distance from
// the shard (so that a close finds it with no load): a million slots' bytes are 1 MiB,
// which stays in cache where the entries (16 MiB) do not. An open writes the entry, then
// sets the byte; a close clears the byte and leaves the entry alone: in a large live set
// the entry is a cache miss of its own, on top of the guard's. A query reads the byte,
// then the entry. A byte rather than a bit: setting and clearing are stores, with no load
// for the next open or close to wait for, and threads that free slots under the lock write
// bytes of their own, not the owner's word.
struct alignas(64) Shard {
  Shard(std::uint16_t shard_index, bool shared_by_threads)
      : index(shard_index), shared(shared_by_threads) {}

  // The chunk of `slot`'s entry.
  Entry* chunk_of(std::uint32_t slot) noexcept {
    return chunks[slot / kChunkEntries].load(std::memory_order_acquire);
  }
  Entry& at(std::uint32_t slot) noexcept { return chunk_of(slot)[slot % kChunkEntries]; }

  // The live bytes of this shard's slots (committed for every chunk in use).
  Live* live_bytes() noexcept {
    return reinterpret_cast<Live*>(reinterpret_cast<char*>(this) + kLiveOffset);
  }
  // The live byte of `slot`.
  std::atomic_ref<Live> live(std::uint32_t slot) noexcept {
    return std::atomic_ref<Live>(live_bytes()[slot]);
  }
  void set_live(std::uint32_t slot) noexcept {
    // Release: a query that sees the byte set sees the entry written before it.
    live(slot).store(Live::yes, std::memory_order_release);
  }
  void clear_live(std::uint32_t slot) noexcept {
    live(slot).store(Live::no, std::memory_order_relaxed);
  }
  // The open node in `slot`, or null; by a query, under the lock.
  const RegistryNode* open_node_at(std::uint32_t slot) noexcept {
    // Acquire: the entry was written before the byte was set.
    if (live(slot).load(std::memory_order_acquire) == Live::no) return nullptr;
    // Acquire: the record and the serial were written before the node was published.
    return atomically(at(slot).node).load(std::memory_order_acquire);
  }

  // A slot for a new entry, taken by the opening thread; false when memory or slots run
  // out. Slots closed on this shard by other threads come back through `returned`.
  bool allocate(std::uint32_t& slot) noexcept {
    if (!shared && !own_free.empty()) {  // the owner's common case, inlined into the open
      slot = own_free.pop();
      return true;
    }
    return allocate_more(slot);
  }

  // Puts back a closed slot (under the lock, or by the owner: see close_as_owner).
  void release(std::uint32_t slot) noexcept;
  // release() by the owner of an exclusive shard, who need not ask who is closing: no
  // allocation, nothing to fail (see own_free).
  void release_owned(std::uint32_t slot) noexcept { own_free.push_in_room(slot); }

  // The owner's closes without the lock so far.
  std::uint64_t owner_closed(std::memory_order order) const noexcept {
    return owner_closes.load(order) >> 1;
  }
  // Whether the owner is in a close without the lock; acquire: once it is not, the close
  // it was in is complete for this thread.
  bool owner_closing() const noexcept {
    return (owner_closes.load(std::memory_order_acquire) & 1U) != 0;
  }

  const std::uint16_t index;
  const bool shared;
  std::atomic<std::uint64_t> serial{0};  // opens so far (live: serial - closes); snapshots
  std::atomic<std::uint32_t> used{0};    // slots handed out so far
  // The opening thread's (exclusive shard only), with room for every slot handed out.
  SlotStack own_free;
  std::uint64_t* journal = nullptr;     // journal_record()s, through atomic_ref
  std::atomic<bool> owner_fast{false};  // written under `lock`
  // Written by the owner only: twice its closes without the lock, plus one while such a
  // close is in progress. One word, so that such a close writes it twice, not three times.
  std::atomic<std::uint64_t> owner_closes{0};
  // The owner's own counts for switching back to closes without the lock.
  std::uint64_t fast_closes_from = 0;  // owner_closed() when owner_fast was last set
  std::uint32_t locked_closes = 0;     // under the lock, since owner_fast was last cleared
  std::uint32_t locked_closes_wanted = kLockedClosesMin;

  alignas(64) SpinLock lock;
  std::atomic<std::uint64_t> closed{0};   // written under `lock`
  std::atomic<bool> has_returned{false};  // `returned` is not empty
  SlotStack returned;                     // under `lock`
  std::atomic<Entry*> chunks[kMaxChunks] = {};

 private:
  bool extend(std::uint32_t& slot) noexcept;
  __attribute__((noinline)) bool allocate_more(std::uint32_t& slot) noexcept;
  __attribute__((noinline)) void release_returned(std::uint32_t slot) noexcept;
};

// Constant-initialized and trivially destructible: usable before any constructor has
// run and after every destructor, with no initialization check on the hot path.
struct Registry {
  // Creating and recycling shards (rare). A spin lock rather than std::mutex: it is
  // constant-initialized on every platform, and mingw-w64's std::mutex (winpthreads) is not.
  SpinLock pool_mutex;
  std::atomic<Shard*> shards[kMaxShards] = {};
  std::atomic<std::uint32_t> count{0};
  Shard* unowned[kMaxShards] = {};  // guarded by pool_mutex: shards of threads that ended
  std::uint32_t unowned_count = 0;  // guarded by pool_mutex
  Shard* overflow = nullptr;        // guarded by pool_mutex: the shared shard, once needed
};
static_assert(std::is_trivially_destructible_v<Registry>);
static_assert(sizeof(Shard) <= kLiveOffset, "a shard's live bytes come after it");

constinit Registry g_registry;

Registry& registry() noexcept { return g_registry; }

// The shard this thread owns: where its opens go (see thread_slot.h).
constexpr ThreadValue<Shard*, struct ThisThreadsShard> tls_shard;

inline void Shard::release(std::uint32_t slot) noexcept {
  if (tls_shard.get() == this && !shared) {
    release_owned(slot);
  } else {
    release_returned(slot);
  }
}
// The shard whose lock a query on this thread holds while it describes resources: a
// describe callback that opens or closes a resource on that shard must not wait for
// itself. Only queries write it; opens and closes only read it.
constexpr ThreadValue<Shard*, struct QueryLockedShard> tls_query_locked;
// Set when an open or close happens while this thread's query holds a lock: a describe
// callback misbehaved (describe_node replaces its text).
thread_local bool tls_describe_misbehaved = false;

// What the owner's close checks, in one word, so that it finds its shard with one load:
// the address of the exclusive shard this thread owns, shifted left by 16 bits, then its
// index with every bit flipped. 0 (the index 0xffff, which no shard has) while the thread
// owns none, or a query of this thread holds a lock.
constexpr ThreadValue<std::uintptr_t, struct OwnerCloseKey> tls_owner_key;
constexpr int kOwnerKeyShift = 16;

// The key for this thread now (refreshed where tls_shard or tls_query_locked changes). A
// shard at an address of more than 48 bits (none on x86-64 or AArch64 in practice) gets
// none: its owner closes through unregister_node()'s lookup.
void refresh_owner_key() noexcept {
  const Shard* const shard = tls_shard.get();
  const auto address = reinterpret_cast<std::uintptr_t>(shard);
  std::uintptr_t key = 0;
  if (shard != nullptr && !shard->shared && tls_query_locked.get() == nullptr &&
      (address >> (64 - kOwnerKeyShift)) == 0) {
    key = (address << kOwnerKeyShift) | (shard->index ^ 0xffffU);
  }
  tls_owner_key.set(key);
}

// Whether `node` is on this thread's exclusive shard and no query of this thread holds a
// lock (the owner's close may then try close_as_owner()); if so, the shard in `own`.
__attribute__((always_inline)) inline bool on_own_shard(const RegistryNode& node,
                                                        Shard*& own) noexcept {
  const std::uintptr_t key = tls_owner_key.get();
  // The flipped index is 0xffff - index: the low 16 bits of key + shard + 1 are 0 where
  // the two indices are equal.
  if (((key + node.shard + 1U) & 0xffffU) != 0) return false;
  own = reinterpret_cast<Shard*>(key >> kOwnerKeyShift);
  return true;
}

// Under `shard`'s lock, on a thread that does not own it: stops its owner's closes without
// the lock (see Shard) and waits for one in progress to end.
void exclude_owner(Shard& shard) noexcept {
  if (!shard.owner_fast.load(std::memory_order_relaxed)) return;
  shard.owner_fast.store(false, std::memory_order_relaxed);
  process_barrier();
  while (shard.owner_closing()) yield_thread();
}

// The lock of an open, close or move.
class ShardLock {
 public:
  explicit ShardLock(Shard& shard) noexcept : shard_(&shard) {
    if (tls_query_locked.get() != nullptr) {
      tls_describe_misbehaved = true;
      if (tls_query_locked.get() == shard_) shard_ = nullptr;  // held by this thread's query
    }
    if (shard_ != nullptr) {
      shard_->lock.lock();
      if (shard_ != tls_shard.get()) exclude_owner(*shard_);
    }
  }
  ~ShardLock() {
    if (shard_ != nullptr) shard_->lock.unlock();
  }
  ShardLock(const ShardLock&) = delete;
  ShardLock& operator=(const ShardLock&) = delete;

 private:
  Shard* shard_;
};

// The lock of a query's batch: describe callbacks run under it.
class QueryLock {
 public:
  explicit QueryLock(Shard& shard) noexcept : shard_(shard), previous_(tls_query_locked.get()) {
    if (previous_ != &shard_) {
      shard_.lock.lock();
      if (&shard_ != tls_shard.get()) exclude_owner(shard_);
    }
    tls_query_locked.set(&shard_);
    refresh_owner_key();
  }
  ~QueryLock() {
    tls_query_locked.set(previous_);
    refresh_owner_key();
    if (previous_ != &shard_) shard_.lock.unlock();
  }
  QueryLock(const QueryLock&) = delete;
  QueryLock& operator=(const QueryLock&) = delete;

 private:
  Shard& shard_;
  Shard* previous_;
};

// Hands the thread's shard on when the thread ends; resources it opened stay registered.
struct ShardRelease {
  ~ShardRelease() {
    Shard* shard = tls_shard.exchange(nullptr);
    refresh_owner_key();
    if (shard == nullptr || shard->shared) return;
    Registry& reg = registry();
    std::lock_guard lock(reg.pool_mutex);
    if (reg.unowned_count < kMaxShards) reg.unowned[reg.unowned_count++] = shard;
  }
};
thread_local ShardRelease tls_release;

}  // namespace

// Defined by exit.cc; referencing it makes the linker keep the tracker's lifetime object
// (start-up and exit report) in every program that opens a tracked resource.
extern const bool kLifetimeLinked;

namespace {

Shard* new_shard(Registry& reg, bool shared) noexcept {
  const std::uint32_t count = reg.count.load(std::memory_order_relaxed);
  void* const memory = reserve_memory(kShardReservation);
  if (memory == nullptr || !commit_memory(memory, sizeof(Shard))) return nullptr;
  auto* shard = new (memory) Shard(static_cast<std::uint16_t>(count), shared);
  shard->journal = static_cast<std::uint64_t*>(std::calloc(kJournalSize, sizeof(std::uint64_t)));
  // The first call prepares the barrier; no other thread knows the shard yet.
  shard->owner_fast.store(!shared && process_barrier_available(), std::memory_order_relaxed);
  reg.shards[count].store(shard, std::memory_order_release);
  reg.count.store(count + 1, std::memory_order_release);
  return shard;
}

Shard* acquire_shard() noexcept {
  if (!kLifetimeLinked) return nullptr;
  Registry& reg = registry();
  Shard* shard = nullptr;
  {
    std::lock_guard lock(reg.pool_mutex);
    if (reg.unowned_count > 0) {
      shard = reg.unowned[--reg.unowned_count];
    } else if (reg.count.load(std::memory_order_relaxed) < kMaxShards - 1) {
      shard = new_shard(reg, false);
    }
    if (shard == nullptr) {
      // More threads alive at once than shards: the rest share one, and lock to open.
      if (reg.overflow == nullptr) reg.overflow = new_shard(reg, true);
      shard = reg.overflow;
      if (shard == nullptr) return nullptr;
    }
  }
  tls_shard.set(shard);
  refresh_owner_key();
  static_cast<void>(&tls_release);  // registers the hand-on at thread end
  return shard;
}

bool Shard::extend(std::uint32_t& slot) noexcept {
  const std::uint32_t next = used.load(std::memory_order_relaxed);
  const std::uint32_t chunk = next / kChunkEntries;
  if (chunk >= kMaxChunks) return false;
  // Room on the owner's free list for every slot handed out: a close never grows it.
  if (!shared && !own_free.reserve(next + 1)) return false;
  if (chunks[chunk].load(std::memory_order_relaxed) == nullptr) {
    if (!commit_memory(live_bytes() + std::size_t{chunk} * kChunkEntries, kChunkEntries)) {
      return false;
    }
    auto* entries = static_cast<Entry*>(std::calloc(1, kChunkBytes));
    if (entries == nullptr) return false;
    chunks[chunk].store(entries, std::memory_order_release);
  }
  slot = next;
  // Release: a query that sees the slot counted sees its chunk.
  used.store(next + 1, std::memory_order_release);
  return true;
}

bool Shard::allocate_more(std::uint32_t& slot) noexcept {
  if (shared) {  // under the lock
    if (!returned.empty()) {
      slot = returned.pop();
      return true;
    }
    return extend(slot);
  }
  if (own_free.empty() && has_returned.load(std::memory_order_relaxed)) {
    ShardLock hold(*this);
    own_free.take_all(returned);
    has_returned.store(false, std::memory_order_relaxed);
  }
  if (!own_free.empty()) {
    slot = own_free.pop();
    return true;
  }
  return extend(slot);
}

void Shard::release_returned(std::uint32_t slot) noexcept {
  // Out of memory, the slot is lost, nothing else.
  if (returned.push(slot)) has_returned.store(true, std::memory_order_relaxed);
}

Shard* shard_at(std::uint16_t index) noexcept {
  return registry().shards[index].load(std::memory_order_acquire);
}

std::uint64_t composite(const Shard& shard, std::uint64_t local) noexcept {
  return (std::uint64_t{shard.index} << kShardShift) | local;
}

// Open times are kept in units of 2^20 ns (about a millisecond), truncated to 32 bits: a
// shift instead of a division on every open, and ages are right for 49 days.
constexpr int kTimeShift = 20;
std::uint32_t time_units(std::int64_t ns) noexcept {
  return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ns) >> kTimeShift);
}
std::int64_t age_at(std::int64_t now_ns, std::uint32_t opened_at) noexcept {
  const std::uint32_t units = time_units(now_ns) - opened_at;  // modulo 2^32
  return static_cast<std::int64_t>(std::uint64_t{units} << kTimeShift);
}

thread_local int tls_describing = 0;

std::string fallback_description(const RegistryNode& node) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, " at %p", node.owner);
  return std::string(node.kind != nullptr ? node.kind->name : "resource") + buffer;
}

// Called under the shard's lock with an entry's node and serial, as loaded.
ResourceInfo info_of(const RegistryNode& node, std::uint64_t serial, const Shard& shard,
                     std::int64_t now_ns) {
  ResourceInfo info;
  info.kind = node.kind->name;
  // Described under the shard lock: the owner cannot be closed or destroyed meanwhile,
  // since both unregister through this lock.
  info.description = describe_node(node);
  info.allocation_trace = node.trace;
  info.thread_id = node.thread_id;
  info.age = std::chrono::nanoseconds(age_at(now_ns, node.opened_at));
  info.serial = composite(shard, serial);
  info.owner = node.owner;
  return info;
}

// Every open entry of `shard` newer than `threshold`, a locked batch at a time.
void scan_shard(Shard& shard, std::uint64_t threshold, std::int64_t now_ns,
                const std::function<void(std::vector<ResourceInfo>&)>& visit) {
  std::uint32_t next = 0;
  while (true) {
    std::vector<ResourceInfo> batch;
    bool finished = false;
    {
      QueryLock lock(shard);
      const std::uint32_t end = shard.used.load(std::memory_order_acquire);
      const std::uint32_t stop = end - next > kEntriesPerHold ? next + kEntriesPerHold : end;
      for (; next < stop && batch.size() < kDescribesPerHold; ++next) {
        const RegistryNode* node = shard.open_node_at(next);
        if (node == nullptr) continue;
        const std::uint64_t serial =
            atomically(shard.at(next).serial).load(std::memory_order_relaxed);
        if (serial <= threshold) continue;
        batch.push_back(info_of(*node, serial, shard, now_ns));
      }
      finished = next >= end;
    }
    if (!batch.empty()) visit(batch);
    if (finished) return;
  }
}

// The entries opened after `threshold` through the shard's journal, when it still reaches
// back that far: a cost in proportion to what was opened since. False otherwise (the
// journal wrapped, or opens racing the copy wrote over it).
bool scan_journal(Shard& shard, std::uint64_t threshold, std::int64_t now_ns,
                  const std::function<void(std::vector<ResourceInfo>&)>& visit) {
  struct Recent {
    std::uint32_t slot;
    std::uint64_t serial;
  };
  std::vector<Recent> recent;
  // Acquire: every journal record up to `last` is written.
  const std::uint64_t last = shard.serial.load(std::memory_order_acquire);
  if (last - threshold > kJournalSize || shard.journal == nullptr) return false;
  recent.reserve(last - threshold);
  for (std::uint64_t serial = threshold + 1; serial <= last; ++serial) {
    const std::uint64_t record =
        atomically(shard.journal[serial % kJournalSize]).load(std::memory_order_relaxed);
    if (record != journal_record(static_cast<std::uint32_t>(record >> 32), serial)) return false;
    recent.push_back({static_cast<std::uint32_t>(record >> 32), serial});
  }
  for (std::size_t next = 0; next < recent.size();) {
    std::vector<ResourceInfo> batch;
    {
      QueryLock lock(shard);
      for (; next < recent.size() && batch.size() < kDescribesPerHold; ++next) {
        const RegistryNode* node = shard.open_node_at(recent[next].slot);
        // Still the open it journaled, not a later one in a reused slot.
        if (node == nullptr ||
            atomically(shard.at(recent[next].slot).serial).load(std::memory_order_relaxed) !=
                recent[next].serial) {
          continue;
        }
        batch.push_back(info_of(*node, recent[next].serial, shard, now_ns));
      }
    }
    if (!batch.empty()) visit(batch);
  }
  return true;
}

}  // namespace

std::uint32_t registry_now() noexcept { return time_units(coarse_now_ns()); }

std::int64_t age_ns(std::uint32_t opened_at) noexcept { return age_at(coarse_now_ns(), opened_at); }

namespace {

// Gives `node` a slot and a serial on `shard` and marks it open: by the shard's own thread
// without the lock, or under it in the shared shard.
__attribute__((always_inline)) inline void publish(Shard& shard, RegistryNode& node) noexcept {
  std::uint32_t slot = 0;
  if (!shard.allocate(slot)) {
    node.state.store(GuardState::disabled, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t serial = shard.serial.load(std::memory_order_relaxed) + 1;
  node.shard = shard.index;
  node.slot = slot;
  Entry& entry = shard.at(slot);
  atomically(entry.serial).store(serial, std::memory_order_relaxed);
  atomically(entry.node).store(&node, std::memory_order_release);
  shard.set_live(slot);
  if (shard.journal != nullptr) {
    atomically(shard.journal[serial % kJournalSize])
        .store(journal_record(slot, serial), std::memory_order_relaxed);
  }
  // Release: a snapshot that reads this serial finds the journal record written.
  shard.serial.store(serial, std::memory_order_release);
  // Release: a thread that closes it sees the slot and the counts.
  node.state.store(GuardState::open, std::memory_order_release);
}

}  // namespace

void register_node(RegistryNode& node) noexcept {
  node.thread_id = current_thread_id();
  node.opened_at = registry_now();
  Shard* shard = tls_shard.get();
  if (shard == nullptr) shard = acquire_shard();
  if (shard == nullptr) {
    node.state.store(GuardState::disabled, std::memory_order_relaxed);
    return;
  }
  if (shard->shared) {
    ShardLock lock(*shard);
    publish(*shard, node);
    return;
  }
  if (tls_query_locked.get() != nullptr) tls_describe_misbehaved = true;  // see ShardLock
  publish(*shard, node);
}

namespace {

// Moves a node whose slot is emptied (or noted to be) to `next`.
__attribute__((always_inline)) inline void mark_closed(RegistryNode& node, GuardState next,
                                                       TraceId close_trace) noexcept {
  node.close_trace = close_trace;
  // Release: a thread that finds it closed also sees its close trace.
  node.state.store(next, std::memory_order_release);
}

// Frees an open node's slot and moves the node to `next`, under the shard's lock. (The
// owner's close without it does the same with release_owned(): close_as_owner.)
__attribute__((always_inline)) inline void unpublish(Shard& shard, RegistryNode& node,
                                                     GuardState next,
                                                     TraceId close_trace) noexcept {
  shard.clear_live(node.slot);
  shard.release(node.slot);
  mark_closed(node, next, close_trace);
}

enum class OwnerClose { done, not_open, locked };

// The owner's close without the lock (see Shard), when the lock's holders let it.
__attribute__((always_inline)) inline OwnerClose close_as_owner(Shard& shard, RegistryNode& node,
                                                                GuardState next,
                                                                TraceId close_trace) noexcept {
  const std::uint64_t closes = shard.owner_closes.load(std::memory_order_relaxed);
  shard.owner_closes.store(closes | 1U, std::memory_order_relaxed);
  // The light half of the fence; exclude_owner's process_barrier() is the heavy half.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  OwnerClose outcome = OwnerClose::locked;
  std::uint64_t after = closes;
  if (shard.owner_fast.load(std::memory_order_relaxed)) {
    outcome = OwnerClose::not_open;
    if (node.state.load(std::memory_order_relaxed) == GuardState::open) {
      const std::uint32_t slot = node.slot;
      shard.clear_live(slot);
      shard.release_owned(slot);
      mark_closed(node, next, close_trace);
      after = closes + 2;
      outcome = OwnerClose::done;
    }
  }
  // Release: a thread waiting in exclude_owner sees the close complete, and live_count()
  // counts no close before its node's open.
  shard.owner_closes.store(after, std::memory_order_release);
  return outcome;
}

// Under the lock, by the owner after a close: whether to close without it again.
void consider_closing_without_lock(Shard& shard) noexcept {
  if (shard.shared || ++shard.locked_closes < shard.locked_closes_wanted) return;
  // Another thread took the lock soon after the owner last stopped taking it: wait twice
  // as long before trying again.
  const std::uint64_t fast_closes =
      shard.owner_closed(std::memory_order_relaxed) - shard.fast_closes_from;
  shard.locked_closes_wanted = fast_closes < shard.locked_closes_wanted
                                   ? std::min(shard.locked_closes_wanted * 2, kLockedClosesMax)
                                   : kLockedClosesMin;
  shard.locked_closes = 0;
  shard.fast_closes_from = shard.owner_closed(std::memory_order_relaxed);
  if (process_barrier_available()) shard.owner_fast.store(true, std::memory_order_relaxed);
}

// unregister_node() under the shard's lock. Out of line: the owner's close without the lock
// then saves no registers for it.
__attribute__((noinline)) bool unregister_locked(Shard& shard, RegistryNode& node, GuardState next,
                                                 TraceId close_trace, bool owner) noexcept {
  ShardLock lock(shard);
  // Checked again under the lock: of two threads closing at once, one unregisters and
  // the other finds it closed.
  if (node.state.load(std::memory_order_relaxed) != GuardState::open) return false;
  unpublish(shard, node, next, close_trace);
  shard.closed.store(shard.closed.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  if (owner) consider_closing_without_lock(shard);
  return true;
}

}  // namespace

bool unregister_node(RegistryNode& node, GuardState next, TraceId close_trace) noexcept {
  // Acquire: a thread that finds the node closed by another also sees its close trace.
  if (node.state.load(std::memory_order_acquire) != GuardState::open) return false;
  // This thread's shard and no query of this thread's holding a lock: the owner's close.
  Shard* own = nullptr;
  if (on_own_shard(node, own)) {
    const OwnerClose outcome = close_as_owner(*own, node, next, close_trace);
    if (outcome != OwnerClose::locked) return outcome == OwnerClose::done;
    return unregister_locked(*own, node, next, close_trace, true);
  }
  Shard* const shard = shard_at(node.shard);
  if (shard == nullptr) return false;
  return unregister_locked(*shard, node, next, close_trace, false);
}

namespace {

// Frames of a close kept for misuse reports: the owner's close and a few callers. Always
// by frame pointers (six frames cost a few nanoseconds, the DWARF unwinder a microsecond);
// interned at the close, read only by a misuse report.
constexpr int kCloseFrames = 6;

// The last closes this thread traced: closes come from a few sites, often in a loop.
constexpr ThreadObject<RecentWalk, struct LastClose> tls_last_close;

// A close of a node found not open: closing a disabled node makes it idle, an idle one is
// left alone, a closed one was closed twice (false).
bool close_unopened(RegistryNode& node, GuardState state) noexcept {
  if (state == GuardState::disabled) node.state.store(GuardState::idle, std::memory_order_relaxed);
  return state != GuardState::closed;
}

// Unregisters an open node with its close trace; false when another thread closed it
// between the caller's look and the shard's lock.
bool unregister_closed(RegistryNode& node, TraceId close_trace) noexcept {
  if (close_trace == kTraceWalkStopped) close_trace = kNoTrace;
  return unregister_node(node, GuardState::closed, close_trace);
}

}  // namespace

#if RESTRACK_CLOSE_INLINE

namespace {

// close_node() in every case, its close trace walked from `frame`, close_node()'s own.
__attribute__((noinline)) bool close_node_from(RegistryNode& node, std::uintptr_t frame) noexcept {
  // Acquire: closed by another thread, its close trace is visible to the misuse report.
  const GuardState state = node.state.load(std::memory_order_acquire);
  if (state != GuardState::open) return close_unopened(node, state);
  TraceId close_trace = kNoTrace;
  if (node.trace != kNoTrace) {
    RecentWalk* const walk = tls_last_close.find();
    close_trace = walk != nullptr ? walk->capture_from(frame, kCloseFrames)
                                  : capture_from_without_memo(frame, kCloseFrames);
  }
  return unregister_closed(node, close_trace);
}

}  // namespace

__attribute__((noinline)) bool close_node(RegistryNode& node) noexcept {
  const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  // The common close, in this function's body with no call and few loads (docs/design.md,
  // "The registry"): the owner's close without the lock of a node whose close trace
  // replays, or that has no trace.
  RecentWalk* const walk = tls_last_close.find();
  TraceId close_trace = kNoTrace;
  if (node.trace == kNoTrace ||
      (walk != nullptr && walk->replay_short<kCloseFrames>(frame, close_trace))) {
    // The shard is read after the replay, not kept in a register through it (which would
    // cost a register saved and restored: a store and a load).
    std::atomic_signal_fence(std::memory_order_seq_cst);
    Shard* own = nullptr;
    // close_as_owner() checks that the node is open; a node that is not goes the other way.
    if (on_own_shard(node, own) &&
        close_as_owner(*own, node, GuardState::closed, close_trace) == OwnerClose::done) {
      return true;
    }
  }
  // Everything else, from the start. A tail call: its frame takes the place of this one,
  // with the same two words in it.
  return close_node_from(node, frame);
}

#else

__attribute__((noinline)) bool close_node(RegistryNode& node) noexcept {
  // Acquire: closed by another thread, its close trace is visible to the misuse report.
  const GuardState state = node.state.load(std::memory_order_acquire);
  if (state != GuardState::open) return close_unopened(node, state);
  TraceId close_trace = kNoTrace;
  if (node.trace != kNoTrace) {
    // Skip this function's frame: the trace starts in its caller.
    RecentWalk* const walk = tls_last_close.find();
    close_trace =
        walk != nullptr ? walk->capture(kCloseFrames, 1) : capture_without_memo(kCloseFrames, 1);
  }
  return unregister_closed(node, close_trace);
}

#endif

void move_registration(RegistryNode& to, RegistryNode& from, const void* new_owner) noexcept {
  const auto copy_fields = [&] {
    to.kind = from.kind;
    to.owner = new_owner;
    to.describe = from.describe;
    to.trace = from.trace;
    to.close_trace = from.close_trace;
    to.thread_id = from.thread_id;
    to.opened_at = from.opened_at;
    to.slot = from.slot;
    to.shard = from.shard;
  };
  if (from.state.load(std::memory_order_relaxed) == GuardState::open) {
    if (Shard* shard = shard_at(from.shard)) {
      ShardLock lock(*shard);
      if (from.state.load(std::memory_order_relaxed) == GuardState::open) {
        // Everything a query reads changes under the lock, the owner pointer included.
        copy_fields();
        atomically(shard->at(from.slot).node).store(&to, std::memory_order_release);
        to.state.store(GuardState::open, std::memory_order_relaxed);
        from.state.store(GuardState::idle, std::memory_order_relaxed);
        from.trace = kNoTrace;
        from.close_trace = kNoTrace;
        return;
      }
    }
  }
  copy_fields();
  to.state.store(from.state.load(std::memory_order_relaxed), std::memory_order_relaxed);
  from.state.store(GuardState::idle, std::memory_order_relaxed);
  from.trace = kNoTrace;
  from.close_trace = kNoTrace;
}

std::uint64_t serial_of(const RegistryNode& node) noexcept {
  if (node.state.load(std::memory_order_relaxed) != GuardState::open) return 0;
  Shard* shard = shard_at(node.shard);
  if (shard == nullptr) return 0;
  ShardLock lock(*shard);
  if (node.state.load(std::memory_order_relaxed) != GuardState::open) return 0;
  return composite(*shard, atomically(shard->at(node.slot).serial).load(std::memory_order_relaxed));
}

std::string describe_node(const RegistryNode& node) noexcept {
  ++tls_describing;
  const bool outer = tls_describing == 1;
  if (outer) tls_describe_misbehaved = false;
  std::string text;
  bool failed = false;
  try {
    text = node.describe != nullptr ? node.describe(node.owner) : fallback_description(node);
  } catch (...) {
    failed = true;
  }
  --tls_describing;
  const bool misbehaved = outer && tls_describe_misbehaved;
  if (failed || misbehaved) {
    if (misbehaved) {
      static std::atomic<bool> said{false};
      if (!said.exchange(true)) {
        log_error("the describe callback of a " +
                  std::string(node.kind != nullptr ? node.kind->name : "resource") +
                  " opened or closed a tracked resource; describe callbacks must only read "
                  "their owner (reported as <kind at address> instead)");
      }
    }
    try {
      return fallback_description(node);
    } catch (...) {
      return {};
    }
  }
  return text;
}

std::vector<std::uint64_t> shard_serials() noexcept {
  Registry& reg = registry();
  std::vector<std::uint64_t> serials;
  try {
    const std::uint32_t count = reg.count.load(std::memory_order_acquire);
    serials.resize(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      serials[i] =
          reg.shards[i].load(std::memory_order_acquire)->serial.load(std::memory_order_acquire);
    }
  } catch (...) {
  }
  return serials;
}

void for_each_live(const std::vector<std::uint64_t>* since,
                   const std::function<void(std::vector<ResourceInfo>&)>& visit) noexcept {
  try {
    Registry& reg = registry();
    const std::int64_t now_ns = coarse_now_ns();
    const std::uint32_t count = reg.count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < count; ++i) {
      Shard& shard = *reg.shards[i].load(std::memory_order_acquire);
      std::uint64_t threshold = 0;
      if (since != nullptr) {
        if (i < since->size()) threshold = (*since)[i];
        if (scan_journal(shard, threshold, now_ns, visit)) continue;
      }
      scan_shard(shard, threshold, now_ns, visit);
    }
  } catch (...) {
    // Out of memory: what was visited stands.
  }
}

OwnerCloseState owner_close_state_for_test() noexcept {
  OwnerCloseState state;
  Shard* shard = tls_shard.get();
  if (shard == nullptr) return state;
  ShardLock lock(*shard);
  state.without_lock = shard->owner_closed(std::memory_order_relaxed);
  state.under_lock = shard->closed.load(std::memory_order_relaxed);
  state.lock_free_possible = !shard->shared && process_barrier_available();
  if (state.lock_free_possible && !shard->owner_fast.load(std::memory_order_relaxed)) {
    state.closes_until_lock_free = shard->locked_closes_wanted - shard->locked_closes;
  }
  return state;
}

void close_without_lock_from_now_for_test() noexcept {
  Shard* shard = tls_shard.get();
  if (shard == nullptr || shard->shared || !process_barrier_available()) return;
  ShardLock lock(*shard);
  shard->locked_closes = 0;
  shard->fast_closes_from = shard->owner_closed(std::memory_order_relaxed);
  shard->locked_closes_wanted = kLockedClosesMin;
  shard->owner_fast.store(true, std::memory_order_relaxed);
}

void lock_registry_for_fork() noexcept {
  Registry& reg = registry();
  reg.pool_mutex.lock();
  const std::uint32_t count = reg.count.load(std::memory_order_acquire);
  // No close of another thread may be half done in the child: every owner is excluded.
  bool excluding = false;
  for (std::uint32_t i = 0; i < count; ++i) {
    Shard& shard = *reg.shards[i].load(std::memory_order_relaxed);
    shard.lock.lock();
    if (&shard != tls_shard.get() && shard.owner_fast.load(std::memory_order_relaxed)) {
      shard.owner_fast.store(false, std::memory_order_relaxed);
      excluding = true;
    }
  }
  if (!excluding) return;
  process_barrier();  // once for all shards
  for (std::uint32_t i = 0; i < count; ++i) {
    const Shard& shard = *reg.shards[i].load(std::memory_order_relaxed);
    while (shard.owner_closing()) yield_thread();
  }
}

void unlock_registry_after_fork() noexcept {
  Registry& reg = registry();
  const std::uint32_t count = reg.count.load(std::memory_order_acquire);
  for (std::uint32_t i = count; i > 0; --i) {
    reg.shards[i - 1].load(std::memory_order_relaxed)->lock.unlock();
  }
  reg.pool_mutex.unlock();
}

}  // namespace internal

// ---- Live set ------------------------------------------------------------------------

namespace {

std::vector<ResourceInfo> collect(const std::vector<std::uint64_t>* since) noexcept {
  std::vector<ResourceInfo> result;
  internal::for_each_live(since, [&](std::vector<ResourceInfo>& batch) {
    for (ResourceInfo& info : batch) result.push_back(std::move(info));
  });
  try {
    std::sort(result.begin(), result.end(), [](const ResourceInfo& a, const ResourceInfo& b) {
      if (a.age != b.age) return a.age > b.age;
      return a.serial < b.serial;
    });
  } catch (...) {
  }
  return result;
}

}  // namespace

std::vector<ResourceInfo> live_resources() noexcept { return collect(nullptr); }

std::size_t live_count() noexcept {
  internal::Registry& reg = internal::registry();
  std::size_t total = 0;
  const std::uint32_t count = reg.count.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < count; ++i) {
    const internal::Shard& shard = *reg.shards[i].load(std::memory_order_acquire);
    // Closed first: every close counted was of an open counted after it.
    const std::uint64_t closed = shard.closed.load(std::memory_order_acquire) +
                                 shard.owner_closed(std::memory_order_acquire);
    const std::uint64_t opened = shard.serial.load(std::memory_order_acquire);
    total += static_cast<std::size_t>(opened >= closed ? opened - closed : 0);
  }
  return total;
}

Snapshot Snapshot::take() noexcept {
  Snapshot snapshot;
  try {
    snapshot.shard_serials_ =
        std::make_shared<const std::vector<std::uint64_t>>(internal::shard_serials());
  } catch (...) {
  }
  return snapshot;
}

std::vector<ResourceInfo> Snapshot::opened_since() const noexcept {
  static const std::vector<std::uint64_t> kNothing;
  return collect(shard_serials_ != nullptr ? shard_serials_.get() : &kNothing);
}

bool Snapshot::precedes(std::uint64_t serial) const noexcept {
  const auto shard = static_cast<std::size_t>(serial >> internal::kShardShift);
  const std::uint64_t local = serial & internal::kLocalMask;
  if (shard_serials_ == nullptr || shard >= shard_serials_->size()) return true;
  return local > (*shard_serials_)[shard];
}

RESTRACK_NAMESPACE_END
