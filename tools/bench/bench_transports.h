// Shared by bench_transports.cc and its Asio peer (bench_transports_asio.cc, built with
// Asio's io_uring settings): the bulk-transfer workload.
#pragma once

#include <cstddef>

#include <benchmark/benchmark.h>

namespace restrack_bench {

// One benchmark iteration moves this much one way over loopback TCP.
inline constexpr std::size_t kBulkBytes = std::size_t{1} << 30;
// Each write (restrack) or async_write (Asio) hands over this much.
inline constexpr std::size_t kBulkChunk = std::size_t{64} << 10;

// Boost.Asio: async_write of kBulkChunk buffers against async_read_some into one.
void bulk_asio(benchmark::State& state);

}  // namespace restrack_bench
