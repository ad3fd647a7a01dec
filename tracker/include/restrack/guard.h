// restrack/guard.h — ResourceGuard, the member that makes an object a tracked resource.
//
// Put a ResourceGuard in any class that owns something that must be closed. Call open()
// once the constructor has acquired the resource, close() when the user closes it, and in
// the destructor release_and_warn() if it is still open:
//
//   class Connection {
//    public:
//     explicit Connection(int fd) : fd_(fd) {
//       guard_.open(kConnection, this, [](const void* self) {
//         return "fd=" + std::to_string(static_cast<const Connection*>(self)->fd_);
//       });
//     }
//     ~Connection() {
//       if (fd_ >= 0) guard_.release_and_warn([&]() noexcept { ::close(fd_); });
//     }
//     void close() { if (guard_.close()) { ::close(fd_); fd_ = -1; } }
//     void send(std::string_view data) { guard_.check_use(); ... }
//    private:
//     int fd_;
//     [[no_unique_address]] restrack::ResourceGuard guard_;
//   };
//
// open() records the resource in the live set with the allocation trace. close() removes
// it; closing twice reports "closed twice" with both traces. release_and_warn() takes the
// description, lets the owner release the OS resource directly (it must never re-enter an
// event loop or call user callbacks), and then reports "unclosed". A guard destroyed
// while still open reports too, as a safety net for owners that forget.
//
// The describe callback builds the text between < and >. It is called when a report or a
// live-set query needs it, possibly from another thread while the owner is open, so it
// must only read state that does not change while the resource is open. If it throws,
// the report falls back to "<kind at 0xADDRESS>".
//
// With RESTRACK_TRACKING=0 ResourceGuard is an empty class whose members do nothing
// (release_and_warn still calls the release function), so [[no_unique_address]] makes it
// cost nothing.
#pragma once

#include <string>
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
  ~ResourceGuard() {
    if (node_.state == internal::GuardState::open) {
      internal::report_unclosed(node_, internal::describe_node(node_));
    }
  }

  // Registers the resource. `owner` is passed back to `describe` (nullptr: the report
  // shows "<kind at 0xADDRESS>"). Opening an open guard first closes it silently.
  //
  // `library_frames` is for owners created beneath frames of their own library — an
  // event loop dispatching a task, say: that many more frames are captured, so that the
  // user's frames beyond them still fit in trace_depth (library frames are dropped from
  // the trace the user reads either way).
  void open(const Kind& kind, const void* owner, DescribeFn describe = nullptr,
            int library_frames = 0) noexcept {
    internal::open_node(node_, kind, owner, describe, library_frames);
  }

  // Unregisters the resource. Returns true if it was open, so the caller releases the OS
  // resource; false if it was already closed (reported as "closed twice") or never
  // opened (not reported).
  bool close() noexcept { return internal::close_node(node_); }

  // True between open() and close().
  bool is_open() const noexcept {
    return node_.state == internal::GuardState::open ||
           node_.state == internal::GuardState::disabled;
  }

  // Reports "used after close" if the resource was closed. Call it at the top of every
  // operation on the owner.
  void check_use() const noexcept {
    if (node_.state == internal::GuardState::closed) internal::report_use_after_close(node_);
  }

  // For the owner's destructor when the resource is still open: takes the description,
  // calls `release` (which must not throw), unregisters and reports "unclosed" — or, with
  // DiagnosticType::destroyed_pending, "<kind> was destroyed but it is pending" (a task
  // whose work had not finished).
  template <class Release>
  void release_and_warn(Release&& release,
                        DiagnosticType type = DiagnosticType::unclosed) noexcept {
    if (node_.state != internal::GuardState::open) {
      std::forward<Release>(release)();
      node_.state = internal::GuardState::closed;
      return;
    }
    std::string description = internal::describe_node(node_);
    std::forward<Release>(release)();
    internal::report_unclosed(node_, std::move(description), type);
  }

  // The allocation trace recorded by open(), or kNoTrace.
  TraceId allocation_trace() const noexcept {
    return node_.state == internal::GuardState::open ? node_.trace : kNoTrace;
  }

  // Takes over `other`'s registration (for the owner's move operations); `other` becomes
  // idle. `new_owner` replaces the owner pointer given to describe.
  void move_from(ResourceGuard& other, const void* new_owner) noexcept {
    internal::move_node(node_, other.node_, new_owner);
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
  bool close() noexcept { return true; }
  bool is_open() const noexcept { return false; }
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
