// Loopback TCP ping-pong, 64-byte messages, 1/16/64 connections, one thread: restrack's
// proactor with tracking on and compiled out (socket awaitables), through stream transports
// and through reader/writer streams (tracking on), against Boost.Asio on its io_uring
// backend (Linux) or its IOCP backend (Windows, run under Wine: docs/PERFORMANCE.md).
// The `round_trips` counter is round trips per second. Results: docs/PERFORMANCE.md.
//
//   bench_pingpong --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "bench_pingpong.h"

#include "pingpong_restrack.h"
#include "pingpong_transports.h"

namespace {

void BM_PingPong_Restrack(benchmark::State& state) { run_restrack_pingpong(state); }
void BM_PingPong_RestrackCompiledOut(benchmark::State& state) {
  restrack_bench::pingpong_restrack_compiled_out(state);
}
void BM_PingPong_Asio(benchmark::State& state) { restrack_bench::pingpong_asio(state); }
void BM_PingPong_Transport(benchmark::State& state) {
  restrack_bench::run_transport_pingpong(state);
}
void BM_PingPong_Streams(benchmark::State& state) { restrack_bench::run_streams_pingpong(state); }

BENCHMARK(BM_PingPong_Restrack)->ArgName("connections")->Arg(1)->Arg(16)->Arg(64)->UseRealTime();
BENCHMARK(BM_PingPong_RestrackCompiledOut)
    ->ArgName("connections")
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->UseRealTime();
BENCHMARK(BM_PingPong_Transport)->ArgName("connections")->Arg(1)->Arg(16)->Arg(64)->UseRealTime();
BENCHMARK(BM_PingPong_Streams)->ArgName("connections")->Arg(1)->Arg(16)->Arg(64)->UseRealTime();
BENCHMARK(BM_PingPong_Asio)->ArgName("connections")->Arg(1)->Arg(16)->Arg(64)->UseRealTime();

}  // namespace
