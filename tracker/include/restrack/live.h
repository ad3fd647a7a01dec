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
#include <memory>
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
  // Unique per open; opens on one thread get increasing serials (Snapshot::precedes).
  std::uint64_t serial = 0;
  const void* owner = nullptr;
};

// Every open resource, oldest first (by open time; opens of one thread in order). The
// registry is read in short locked batches, so opens and closes on other threads wait
// well under a millisecond however many resources are open.
std::vector<ResourceInfo> live_resources() noexcept;

// Number of open resources (cheaper than live_resources().size()).
std::size_t live_count() noexcept;

// A point in the sequence of opens: every open that completed before take() is before
// it, every open that started after take() returned is after it. It records one serial
// per registry shard, so taking one writes nothing shared.
class Snapshot {
 public:
  // The point just after every open that has completed so far.
  static Snapshot take() noexcept;

  // Resources opened after this snapshot and still open, oldest first. Its cost grows
  // with the number of opens since the snapshot, not with the number of open resources.
  std::vector<ResourceInfo> opened_since() const noexcept;

  // True if the resource with this serial was opened after the snapshot.
  bool precedes(std::uint64_t serial) const noexcept;

 private:
  std::shared_ptr<const std::vector<std::uint64_t>> shard_serials_;
};

RESTRACK_NAMESPACE_END
