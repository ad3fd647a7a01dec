// restrack/guard.h — ResourceGuard, the member that makes an object a tracked resource.
//
// Put a ResourceGuard in any class that owns something that must be closed. Call open()
// once the constructor has acquired the resource and close() when the user closes it; in
// the destructor, if the resource is still open, release it through release_and_warn().
// The owner decides from its own state whether its resource is open — never from the
// guard, which keeps no state at all when tracking is compiled out:
//
//   class Connection {
//    public:
//     explicit Connection(int fd) : fd_(fd) {
//       guard_.open(kConnection, this, [](const void* self) {
//         return "fd=" + std::to_string(static_cast<const Connection*>(self)->fd_);
//       });
//     }
//     ~Connection() {
//       if (fd_ >= 0) guard_.release_and_warn([this]() noexcept { ::close(fd_); });
//     }
//     void close() {
//       guard_.close();  // a second close() reports "closed twice"
//       if (fd_ >= 0) ::close(std::exchange(fd_, -1));
//     }
//     void send(std::string_view data) {
//       guard_.check_use();  // reports "used after close"
//       ...
//     }
//    private:
//     int fd_;
//     [[no_unique_address]] restrack::ResourceGuard guard_;
//   };
//
// open() records the resource in the live set with the allocation trace. close() removes
// it; closing again reports "closed twice" with both traces. release_and_warn() takes the
// description, unregisters the resource, lets the owner release the OS resource directly
// (it must never re-enter an event loop or call user callbacks), and then reports
// "unclosed". A guard destroyed while still open reports too, as a safety net for owners
// that forget.
//
// The describe callback builds the text between < and >. It is called when a report or a
// live-set query needs it, possibly from another thread while the owner is open, so it
// must only read state that does not change while the resource is open, and must not
// open or close tracked resources (one that does is caught and described as
// "<kind at 0xADDRESS>"). If it throws, the report falls back to "<kind at 0xADDRESS>".
//
// Kinds are kept by address: pass one with static storage duration. A temporary Kind does
// not compile.
//
// With RESTRACK_TRACKING=0 ResourceGuard is an empty class whose members do nothing
// (release_and_warn still calls the release function), so [[no_unique_address]] makes it
// cost nothing.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "restrack/config.h"
#include "restrack/diagnostic.h"
#include "restrack/internal/registry_node.h"
#include "restrack/kind.h"

RESTRACK_NAMESPACE_BEGIN

#if RESTRACK_TRACKING

class ResourceGuard {
 public:
  using DescribeFn = internal::DescribeFn;

  constexpr ResourceGuard() noexcept = default;
  ResourceGuard(const ResourceGuard&) = delete;
  ResourceGuard& operator=(const ResourceGuard&) = delete;
  RESTRACK_ALWAYS_INLINE ~ResourceGuard() {
    if (node_.state.load(std::memory_order_relaxed) == internal::GuardState::open) {
      internal::release_and_report(node_, nullptr, nullptr, DiagnosticType::unclosed);
    }
  }

  // Registers the resource. `owner` is passed back to `describe` (nullptr: the report
  // shows "<kind at 0xADDRESS>"). Opening an open guard first closes it silently.
  //
  // `library_frames` is for owners created beneath frames of their own library — an
  // event loop dispatching a task, say: that many more frames are captured, so that the
  // user's frames beyond them still fit in trace_depth (library frames are dropped from
  // the trace the user reads either way).
  RESTRACK_ALWAYS_INLINE void open(const Kind& kind, const void* owner,
                                   DescribeFn describe = nullptr, int library_frames = 0) noexcept {
    internal::open_node(node_, kind, owner, describe, library_frames);
  }
  void open(const Kind&& kind, const void* owner, DescribeFn describe = nullptr,
            int library_frames = 0) = delete;

  // Unregisters the resource. Reports "closed twice" if it was closed before (also when
  // two threads race to close it); does nothing for a guard never opened.
  RESTRACK_ALWAYS_INLINE void close() noexcept {
    if (!internal::close_node(node_)) internal::report_closed_twice(node_);
  }

  // Unregisters the resource without closing it: the owner gave its OS resource away
  // (TrackedFd::release()). The guard becomes as if never opened.
  RESTRACK_ALWAYS_INLINE void forget() noexcept { internal::forget_node(node_); }

  // Reports "used after close" if the resource was closed. Call it at the top of every
  // operation on the owner.
  RESTRACK_ALWAYS_INLINE void check_use() const noexcept {
    if (node_.state.load(std::memory_order_acquire) == internal::GuardState::closed) {
      internal::report_use_after_close(node_);
    }
  }

  // For the owner's destructor (or assignment) when the resource is still open: takes
  // the description, unregisters, calls `release` (which must not throw), and reports
  // "unclosed" — or, with DiagnosticType::destroyed_pending, "<kind> was destroyed but
  // it is pending" (a task whose work had not finished). On a guard that is not open it
  // only calls `release`.
  template <class Release>
  RESTRACK_ALWAYS_INLINE void release_and_warn(
      Release&& release, DiagnosticType type = DiagnosticType::unclosed) noexcept {
    if (node_.state.load(std::memory_order_relaxed) != internal::GuardState::open) {
      std::forward<Release>(release)();
      if (node_.state.load(std::memory_order_relaxed) == internal::GuardState::disabled) {
        static_cast<void>(internal::close_node(node_));  // disabled: made idle
      }
      return;
    }
    using Fn = std::remove_reference_t<Release>;
    internal::release_and_report(
        node_, [](void* context) noexcept { (*static_cast<Fn*>(context))(); },
        const_cast<void*>(static_cast<const void*>(&release)), type);
  }

  // The allocation trace recorded by open(), or kNoTrace.
  TraceId allocation_trace() const noexcept {
    return node_.state.load(std::memory_order_relaxed) == internal::GuardState::open ? node_.trace
                                                                                     : kNoTrace;
  }

  // Takes over `other`'s registration (for the owner's move operations); `other` becomes
  // idle. `new_owner` replaces the owner pointer given to describe. If this guard is
  // still open, its resource is lost by the assignment: it is reported as "unclosed"
  // (release the OS resource before, as TrackedFd's move assignment does). Moving a guard
  // onto itself does nothing.
  void move_from(ResourceGuard& other, const void* new_owner) noexcept {
    if (&other != this) internal::move_node(node_, other.node_, new_owner);
  }

 private:
  internal::RegistryNode node_;
};

#else  // !RESTRACK_TRACKING

class ResourceGuard {
 public:
  using DescribeFn = internal::DescribeFn;
  constexpr ResourceGuard() noexcept = default;
  ResourceGuard(const ResourceGuard&) = delete;
  ResourceGuard& operator=(const ResourceGuard&) = delete;
  void open(const Kind&, const void*, DescribeFn = nullptr, int = 0) noexcept {}
  void open(const Kind&& kind, const void* owner, DescribeFn describe = nullptr,
            int library_frames = 0) = delete;
  void close() noexcept {}
  void forget() noexcept {}
  void check_use() const noexcept {}
  template <class Release>
  void release_and_warn(Release&& release, DiagnosticType = DiagnosticType::unclosed) noexcept {
    std::forward<Release>(release)();
  }
  TraceId allocation_trace() const noexcept { return kNoTrace; }
  void move_from(ResourceGuard&, const void*) noexcept {}
};

#endif  // RESTRACK_TRACKING

RESTRACK_NAMESPACE_END
