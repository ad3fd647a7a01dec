// Shared by the ping-pong benchmark's translation units: each peer runs the same workload
// (loopback TCP, 64-byte messages, `connections` connections, one thread) and lives in its
// own TU because each needs its own build settings.
#pragma once

#include <benchmark/benchmark.h>

namespace restrack_bench {

// Round trips each connection makes per benchmark iteration.
inline constexpr int kRoundTripsPerIteration = 100;
inline constexpr int kMessageBytes = 64;

// restrack's proactor built on the compiled-out tracker (bench_pingpong_compiled_out.cc).
void pingpong_restrack_compiled_out(benchmark::State& state);

// Boost.Asio on its io_uring backend on Linux, its IOCP backend on Windows
// (bench_pingpong_asio.cc).
void pingpong_asio(benchmark::State& state);

}  // namespace restrack_bench
