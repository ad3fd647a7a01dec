// The descriptor table of descriptors.h, and how restrack-run picks its tracker.
//
// One slot per descriptor number (the kernel hands out the lowest free number, so the
// table stays dense), in chunks allocated on first use and never freed: a slot's record
// (a RegistryNode) has a stable address, as the tracker's registry requires. Each slot
// has a spin lock of its own, held only for table updates, never across a real call.
//
// The tracker in use starts as restrack-run's own (the tracker sources compiled into this
// library). A program that links restrack announces its own tracker at start-up
// (restrack_run_attach); from then on every record lives in the program's tracker, so its
// exit report and GoogleTest listener see them, and restrack-run's own tracker is
// switched off. Each slot remembers the tracker its record and traces belong to.
#include "descriptors.h"

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "fd_description.h"
#include "interposer.h"
#include "logging.h"
#include "platform.h"
#include "restrack/diagnostic.h"
#include "spin_lock.h"

namespace restrack::run {
namespace {

using internal::InterposerApi;

// Frames of a close kept for a later "closed while not open" report.
constexpr int kCloseDepth = 8;

enum class SlotState : std::uint8_t {
  empty,      // never seen
  open,       // a tracked record
  closed,     // closed; its kind and traces kept for a later double close
  inherited,  // open when restrack-run started (or inherited from a forking parent)
};

struct Slot {
  internal::SpinLock lock;
  SlotState state = SlotState::empty;
  bool closed_behind_owner = false;  // the owner's own close will find it closed
  int fd = -1;
  const InterposerApi* api = nullptr;  // the tracker of `node` and the traces
  const Kind* kind = nullptr;
  TraceId open_trace = kNoTrace;
  TraceId close_trace = kNoTrace;
  internal::RegistryNode node;
};

constexpr int kChunkBits = 10;
constexpr int kChunkEntries = 1 << kChunkBits;
constexpr int kMaxChunks = 4096;  // descriptors 0 .. 4 M - 1

std::atomic<Slot*> g_chunks[kMaxChunks] = {};
internal::SpinLock g_grow;
std::atomic<int> g_highest{-1};

std::atomic<const InterposerApi*> g_api{nullptr};
std::atomic<bool> g_started{false};
std::atomic<bool> g_attached{false};

// Depth of restrack-run's own work on this thread: the calls it makes (reading
// /proc/self/fd, the tracker's reports) are passed through.
thread_local int tls_busy = 0;

class Busy {
 public:
  Busy() noexcept { ++tls_busy; }
  ~Busy() { --tls_busy; }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;
};

// Keeps errno across restrack-run's work: the program sees what the real call left.
class KeepErrno {
 public:
  KeepErrno() noexcept : saved_(errno) {}
  ~KeepErrno() { errno = saved_; }
  KeepErrno(const KeepErrno&) = delete;
  KeepErrno& operator=(const KeepErrno&) = delete;

 private:
  int saved_;
};

const InterposerApi& own_api() noexcept { return internal::interposer_api(); }

Slot* slot_of(int fd, bool create) noexcept {
  if (fd < 0 || fd >= kMaxChunks * kChunkEntries) return nullptr;
  std::atomic<Slot*>& chunk_pointer = g_chunks[fd >> kChunkBits];
  Slot* chunk = chunk_pointer.load(std::memory_order_acquire);
  if (chunk == nullptr && create) {
    g_grow.lock();
    chunk = chunk_pointer.load(std::memory_order_acquire);
    if (chunk == nullptr) {
      void* memory = std::calloc(kChunkEntries, sizeof(Slot));
      if (memory != nullptr) {
        chunk = static_cast<Slot*>(memory);
        const int base = fd & ~(kChunkEntries - 1);
        for (int i = 0; i < kChunkEntries; ++i) {
          Slot* slot = new (&chunk[i]) Slot();
          slot->fd = base + i;
        }
        chunk_pointer.store(chunk, std::memory_order_release);
      }
    }
    g_grow.unlock();
  }
  if (chunk == nullptr) return nullptr;
  if (create) {
    int highest = g_highest.load(std::memory_order_relaxed);
    while (fd > highest && !g_highest.compare_exchange_weak(highest, fd)) {
    }
  }
  return &chunk[fd & (kChunkEntries - 1)];
}

template <class Visit>
void for_each_slot(Visit&& visit) noexcept {
  for (std::atomic<Slot*>& chunk_pointer : g_chunks) {
    Slot* chunk = chunk_pointer.load(std::memory_order_acquire);
    if (chunk == nullptr) continue;
    for (int i = 0; i < kChunkEntries; ++i) visit(chunk[i]);
  }
}

std::string describe_slot(const void* owner) {
  return internal::describe_fd(static_cast<const Slot*>(owner)->fd);
}

// Registers `slot` as open with `kind` and `trace` (of `api`). Called with the slot lock.
void open_locked(Slot& slot, const InterposerApi& api, const Kind& kind, TraceId trace) noexcept {
  if (slot.state == SlotState::open && slot.api != &api) slot.api->forget(slot.node);
  slot.api = &api;
  slot.kind = &kind;
  slot.open_trace = trace;
  slot.close_trace = kNoTrace;
  slot.closed_behind_owner = false;
  // A record still open here was closed by a call restrack-run does not see (a raw
  // system call): the tracker replaces it silently.
  api.open(slot.node, kind, &slot, &describe_slot, trace);
  slot.state = SlotState::open;
}

void record_open(int fd, const Kind& kind, const InterposerApi& api, TraceId trace) noexcept {
  Slot* slot = slot_of(fd, true);
  if (slot == nullptr) return;
  slot->lock.lock();
  open_locked(*slot, api, kind, trace);
  slot->lock.unlock();
}

// The standard streams are the environment's, never the program's leaks: their records
// are dropped (a program that opens /dev/null onto 0 has not leaked it).
void drop_standard(int fd) noexcept {
  Slot* slot = slot_of(fd, false);
  if (slot == nullptr) return;
  slot->lock.lock();
  if (slot->state == SlotState::open) slot->api->forget(slot->node);
  slot->state = SlotState::inherited;
  slot->lock.unlock();
}

void log_once(const char* message) noexcept {
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) internal::log_error(message);
}

// Moves every record of restrack-run's own tracker to `theirs`: its trace re-interned
// there, its registration taken out of the one and put into the other.
TraceId reintern(const InterposerApi& from, const InterposerApi& to, TraceId id) noexcept {
  if (id == kNoTrace || id == kTraceWalkStopped) return id;
  std::size_t count = 0;
  const std::uintptr_t* frames = from.frames(id, &count);
  return to.intern(frames, static_cast<int>(count));
}

void migrate(const InterposerApi& theirs) noexcept {
  const InterposerApi& own = own_api();
  for_each_slot([&](Slot& slot) {
    slot.lock.lock();
    if (slot.api == &own) {
      slot.open_trace = reintern(own, theirs, slot.open_trace);
      slot.close_trace = reintern(own, theirs, slot.close_trace);
      if (slot.state == SlotState::open) {
        own.forget(slot.node);
        theirs.open(slot.node, *slot.kind, &slot, &describe_slot, slot.open_trace);
      }
      slot.api = &theirs;
    }
    slot.lock.unlock();
  });
}

// In a fork child: what the parent tracked is the parent's to report. The slot locks
// may have been held by threads that do not exist here.
void forget_in_child() noexcept {
  for_each_slot([](Slot& slot) {
    new (&slot.lock) internal::SpinLock();
    if (slot.state == SlotState::open) {
      slot.api->forget(slot.node);
      slot.state = SlotState::inherited;
    }
  });
}

void child_before_attach() {
  if (!g_attached.load(std::memory_order_relaxed)) forget_in_child();
}
void child_after_attach() {
  // Registered after the program's tracker registered its own fork handlers, so its
  // locks are free again when this runs.
  if (g_attached.load(std::memory_order_relaxed)) forget_in_child();
}

}  // namespace

bool tracking() noexcept {
  if (!g_started.load(std::memory_order_acquire) || tls_busy != 0) return false;
  const InterposerApi* api = g_api.load(std::memory_order_acquire);
  return !api->in_own_work() && api->enabled();
}

__attribute__((noinline)) void opened(int fd, const Kind& kind) noexcept {
  const KeepErrno keep;
  const Busy busy;
  if (fd <= STDERR_FILENO) {
    drop_standard(fd);
    return;
  }
  const InterposerApi& api = *g_api.load(std::memory_order_acquire);
  // Skips this function and the interposer: the trace starts in the caller's code.
  const TraceId trace = api.capture(2, -1);
  record_open(fd, kind, api, trace);
}

__attribute__((noinline)) void duplicated(int fd, int from) noexcept {
  const KeepErrno keep;
  const Busy busy;
  if (fd <= STDERR_FILENO) {
    drop_standard(fd);
    return;
  }
  const Kind* kind = &kinds::descriptor;
  if (Slot* source = slot_of(from, false)) {
    source->lock.lock();
    if (source->state == SlotState::open) kind = source->kind;
    source->lock.unlock();
  }
  const InterposerApi& api = *g_api.load(std::memory_order_acquire);
  const TraceId trace = api.capture(2, -1);
  record_open(fd, *kind, api, trace);
}

__attribute__((noinline)) void converted(int fd, const Kind& kind) noexcept {
  const KeepErrno keep;
  const Busy busy;
  Slot* slot = slot_of(fd, false);
  if (slot == nullptr) return;
  const InterposerApi& api = *g_api.load(std::memory_order_acquire);
  const TraceId trace = api.capture(2, -1);
  slot->lock.lock();
  if (slot->state == SlotState::open) open_locked(*slot, api, kind, trace);
  slot->lock.unlock();
}

// The close steps, `skip` frames below the caller's code.
__attribute__((noinline)) void before_close_at(int fd, PendingClose& pending, int skip) noexcept {
  pending.fd = fd;
  if (fd < 0) return;
  const KeepErrno keep;
  const Busy busy;
  pending.active = true;
  const InterposerApi* api = g_api.load(std::memory_order_acquire);
  internal::FdOwner owner;
  if (api->owner_of(fd, &owner)) {
    pending.owned = true;
    pending.owner_kind = owner.kind;
    pending.owner_trace = owner.allocation_trace;
    try {
      pending.description = internal::describe_fd(fd);
    } catch (...) {
    }
  }
  Slot* slot = slot_of(fd, false);
  if (slot != nullptr) {
    slot->lock.lock();
    const bool live = slot->state == SlotState::open || slot->state == SlotState::inherited;
    slot->lock.unlock();
    // Where it is closed, for a later double close; captured outside the lock.
    const TraceId close_trace = live ? api->capture(skip, kCloseDepth) : kNoTrace;
    slot->lock.lock();
    if (slot->api != nullptr) api = slot->api;
    pending.kind = slot->kind;
    pending.open_trace = slot->open_trace;
    pending.first_close_trace = slot->close_trace;
    pending.reported_already = slot->closed_behind_owner;
    switch (slot->state) {
      case SlotState::open:
        pending.was_open = true;
        slot->api->close(slot->node, close_trace);
        [[fallthrough]];
      case SlotState::inherited:
        slot->state = SlotState::closed;
        if (slot->api == nullptr) slot->api = api;
        slot->close_trace = close_trace;
        slot->closed_behind_owner = pending.owned;
        break;
      case SlotState::closed:
        pending.was_closed = true;
        break;
      case SlotState::empty:
        break;
    }
    slot->lock.unlock();
  }
  pending.api = api;
}

__attribute__((noinline)) void after_close_at(PendingClose& pending, bool failed_not_open,
                                              int skip) noexcept {
  if (!pending.active) return;
  if (!pending.owned && !failed_not_open) return;
  if (!pending.owned && pending.reported_already) return;  // told when it was closed behind
  const KeepErrno keep;
  const Busy busy;
  const auto& api = *static_cast<const InterposerApi*>(pending.api);
  try {
    Diagnostic diagnostic;
    diagnostic.thread_id = internal::current_thread_id();
    if (pending.owned) {
      diagnostic.type = DiagnosticType::closed_behind_owner;
      const Kind* kind = pending.was_open ? pending.kind : pending.owner_kind;
      diagnostic.kind = kind != nullptr ? kind->name : kinds::descriptor.name;
      diagnostic.description = std::move(pending.description);
      diagnostic.allocation_trace = pending.owner_trace;
    } else {
      diagnostic.type = DiagnosticType::closed_not_open;
      const bool known = pending.was_open || pending.was_closed;
      diagnostic.kind =
          known && pending.kind != nullptr ? pending.kind->name : kinds::descriptor.name;
      diagnostic.description = "fd=" + std::to_string(pending.fd);
      if (pending.was_closed) diagnostic.description += " (closed)";
      if (known) diagnostic.allocation_trace = pending.open_trace;
      if (pending.was_closed) diagnostic.first_close_trace = pending.first_close_trace;
    }
    diagnostic.site_trace = api.capture_site(skip);
    api.report(diagnostic);
  } catch (...) {
  }
}

// Both below one frame of restrack-run's (before_close, after_close, before_close_range)
// and the interposer: skip those and this function.
__attribute__((noinline)) void before_close(int fd, PendingClose& pending) noexcept {
  before_close_at(fd, pending, 3);
  asm volatile("");  // keeps this frame: not a tail call
}

__attribute__((noinline)) void after_close(PendingClose& pending, bool failed_not_open) noexcept {
  after_close_at(pending, failed_not_open, 3);
  asm volatile("");
}

__attribute__((noinline)) void before_close_range(unsigned first, unsigned last) noexcept {
  const int highest = g_highest.load(std::memory_order_relaxed);
  if (highest < 0) return;
  const unsigned end = std::min(last, static_cast<unsigned>(highest));
  for (unsigned fd = first; fd <= end; ++fd) {
    PendingClose pending;
    before_close_at(static_cast<int>(fd), pending, 3);
    after_close_at(pending, false, 3);  // only owners: every one of them is closed now
    if (fd == end) break;               // end may be UINT_MAX
  }
  asm volatile("");
}

void adopt_open_descriptors_as_inherited() noexcept {
  const Busy busy;
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return;
  const int own = ::dirfd(directory);
  while (const dirent* entry = ::readdir(directory)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own) continue;
    if (Slot* slot = slot_of(static_cast<int>(fd), true)) {
      slot->lock.lock();
      slot->state = SlotState::inherited;
      slot->lock.unlock();
    }
  }
  ::closedir(directory);
}

void start() noexcept {
  const KeepErrno keep;
  const Busy busy;
  g_api.store(&own_api(), std::memory_order_release);
  // Descriptors 0-2 always count as the environment's.
  for (int fd = 0; fd <= STDERR_FILENO; ++fd) {
    if (Slot* slot = slot_of(fd, true)) slot->state = SlotState::inherited;
  }
  adopt_open_descriptors_as_inherited();
  ::pthread_atfork(nullptr, nullptr, &child_before_attach);
  g_started.store(true, std::memory_order_release);
}

}  // namespace restrack::run

// The program's tracker announces itself here (tracker/src/interposer.h).
extern "C" __attribute__((visibility("default"))) bool restrack_run_attach(const void* api) {
  using restrack::internal::InterposerApi;
  namespace run = restrack::run;
  const auto* theirs = static_cast<const InterposerApi*>(api);
  if (theirs == nullptr || theirs == &run::own_api()) return false;  // our own tracker
  if (theirs->size != sizeof(InterposerApi) || theirs->abi_version != RESTRACK_ABI_VERSION) {
    run::log_once(
        "restrack-run: the program links a restrack tracker of another version; its "
        "TrackedFds are not consulted and raw descriptors are reported by restrack-run alone");
    return false;
  }
  if (run::g_attached.exchange(true)) return false;  // a second one (a library): keep the first
  const run::KeepErrno keep;
  const run::Busy busy;
  run::g_api.store(theirs, std::memory_order_release);
  run::migrate(*theirs);
  run::own_api().disable();  // one exit report per process: the program's
  ::pthread_atfork(nullptr, nullptr, &run::child_after_attach);
  return true;
}
