// restrack/live.h — what is open right now.
//
// Every open tracked resource is in the live set until it is closed or destroyed. Query
// it whole, or take a Snapshot and later ask what was opened after it and is still open
// (that is how the GoogleTest listener blames exactly the test that leaked).
//
// With RESTRACK_TRACKING=0 the queries compile and return empty results.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "restrack/config.h"
#include "restrack/trace.h"

RESTRACK_NAMESPACE_BEGIN

struct ResourceInfo {
  std::string_view kind;
  std::string description;
  TraceId allocation_trace = kNoTrace;
  std::uint64_t thread_id = 0;  // OS id of the thread that opened it
  std::chrono::nanoseconds age{0};
  std::uint64_t serial = 0;  // increases with every open, process-wide
  const void* owner = nullptr;
};

// Every open resource, oldest first.
std::vector<ResourceInfo> live_resources() noexcept;

// Number of open resources (cheaper than live_resources().size()).
std::size_t live_count() noexcept;

// A point in the sequence of opens.
class Snapshot {
 public:
  // The point just after every open that has completed so far.
  static Snapshot take() noexcept;

  // Resources opened after this snapshot and still open, oldest first.
  std::vector<ResourceInfo> opened_since() const noexcept;

  // True if the resource with this serial was opened after the snapshot.
  bool precedes(std::uint64_t serial) const noexcept { return serial > serial_; }

  std::uint64_t serial() const noexcept { return serial_; }

 private:
  explicit Snapshot(std::uint64_t serial) noexcept : serial_(serial) {}
  std::uint64_t serial_ = 0;
};

RESTRACK_NAMESPACE_END
