// Transport benchmarks (issue 10), tracking on, each against its reference in the same
// binary and run:
//   BM_Bulk_Transport / BM_Bulk_Asio           1 GiB one way over loopback TCP; MB/s
//   BM_Spawn_Subprocess / BM_Spawn_ByHand       spawn /bin/true with three pipes, wait for
//                                               the exit and every pipe closed; spawns/s
//   BM_IdleTransportMemory                      heap bytes per idle open stream transport
//                                               beyond its receive buffer, 10,000 open
// Results: docs/PERFORMANCE.md.
//
//   bench_transports --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_transports.h"
#include "restrack/proactor/proactor.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace {

using restrack::EventLoop;
using restrack_bench::kBulkBytes;
using restrack_bench::kBulkChunk;

// --- Bulk: a sender that writes while the transport does not ask it to pause ---

class BulkSender final : public restrack::StreamProtocol {
 public:
  BulkSender() : chunk_(kBulkChunk, 's') {}
  void connection_made(restrack::StreamTransport& transport) override { transport_ = &transport; }
  void start() {
    sent_ = 0;
    fill();
  }
  void pause_writing() override { paused_ = true; }
  void resume_writing() override {
    paused_ = false;
    fill();
  }

 private:
  void fill() {
    while (!paused_ && sent_ < kBulkBytes) {
      transport_->write(chunk_);
      sent_ += chunk_.size();
    }
  }
  restrack::StreamTransport* transport_ = nullptr;
  std::string chunk_;
  std::size_t sent_ = 0;
  bool paused_ = false;
};

class BulkReceiver final : public restrack::StreamProtocol {
 public:
  explicit BulkReceiver(EventLoop& loop) : loop_(loop) {}
  void data_received(std::string_view data) override {
    received_ += data.size();
    if (received_ >= kBulkBytes) loop_.stop();
  }
  void reset() { received_ = 0; }

 private:
  EventLoop& loop_;
  std::size_t received_ = 0;
};

void BM_Bulk_Transport(benchmark::State& state) {
  EventLoop loop;
  auto receiver = std::make_shared<BulkReceiver>(loop);
  restrack::Server server = restrack::create_server(
      loop, [receiver] { return receiver; }, restrack::SocketAddress::ipv4("127.0.0.1", 0));
  auto sender = std::make_shared<BulkSender>();
  auto transport = loop.run_until_complete(restrack::create_connection(
      loop, [sender] { return sender; }, server.sockets().front()));
  for (auto _ : state) {
    receiver->reset();
    sender->start();
    loop.run_forever();  // the receiver stops it
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBulkBytes));
  transport->close();
  server.close();
  loop.run_until_complete(
      [](restrack::Server& s) -> restrack::Task<void> { co_await s.wait_closed(); }(server));
  loop.close();
}

void BM_Bulk_Asio(benchmark::State& state) { restrack_bench::bulk_asio(state); }

// --- Spawning ---

// Sees the end: connection_lost comes once the child has exited and every pipe is closed.
class SpawnWatcher final : public restrack::SubprocessProtocol {
 public:
  explicit SpawnWatcher(EventLoop& loop) : finished(restrack::Future<void>::create(loop)) {}
  void connection_lost(const std::exception_ptr&) override { finished.set_result(); }
  restrack::Future<void> finished;
};

restrack::Task<void> spawn_once(EventLoop& loop, const std::vector<std::string>& argv) {
  auto watcher = std::make_shared<SpawnWatcher>(loop);
  auto make_watcher = [watcher] { return watcher; };  // named: GCC 12 and co_await temporaries
  std::shared_ptr<restrack::SubprocessTransport> child =
      co_await restrack::subprocess_exec(loop, make_watcher, argv);
  co_await watcher->finished;
  child->close();
}

void BM_Spawn_Subprocess(benchmark::State& state) {
  EventLoop loop;
  const std::vector<std::string> argv{"/bin/true"};
  for (auto _ : state) loop.run_until_complete(spawn_once(loop, argv));
  state.counters["spawns"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  loop.close();
}

// The same by hand: three pipes, posix_spawn, read the outputs to end-of-file, waitpid.
void BM_Spawn_ByHand(benchmark::State& state) {
  char program[] = "/bin/true";
  char* argv[] = {program, nullptr};
  for (auto _ : state) {
    int in[2];
    int out[2];
    int err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
        ::pipe2(err, O_CLOEXEC) != 0) {
      state.SkipWithError("pipe2");
      break;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    pid_t pid = -1;
    const int result = ::posix_spawn(&pid, program, &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    ::close(in[1]);
    if (result != 0) {
      state.SkipWithError("posix_spawn");
      break;
    }
    char buffer[256];
    while (::read(out[0], buffer, sizeof buffer) > 0) {
    }
    while (::read(err[0], buffer, sizeof buffer) > 0) {
    }
    ::close(out[0]);
    ::close(err[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  state.counters["spawns"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// --- Memory of an idle transport ---

constexpr int kIdleConnections = 10'000;

restrack::Task<void> open_idle(EventLoop& loop, restrack::SocketAddress address,
                               std::vector<std::shared_ptr<restrack::StreamTransport>>& open) {
  for (int i = 0; i < kIdleConnections; ++i) {
    open.push_back(co_await restrack::create_connection(
        loop, [] { return std::make_shared<restrack::StreamProtocol>(); }, address));
  }
}

// The peer ends live in a child process (this process's descriptor limit is 20,000); the
// heap in use (mallinfo2) is measured around opening the connections, their receive
// buffers (64 KiB each, one receive in flight per transport) subtracted.
void BM_IdleTransportMemory(benchmark::State& state) {
  for (auto _ : state) {
    restrack::Socket listener = restrack::listen_on(restrack::SocketAddress::ipv4("127.0.0.1", 0));
    const restrack::SocketAddress address = restrack::local_address(listener);
    const pid_t peer = ::fork();
    if (peer == 0) {
      const int fd = listener.release();
      const int flags = ::fcntl(fd, F_GETFL);
      ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
      for (int i = 0; i < kIdleConnections; ++i) static_cast<void>(::accept(fd, nullptr, nullptr));
      ::pause();
      ::_exit(0);
    }
    listener.close();
    EventLoop loop;
    std::vector<std::shared_ptr<restrack::StreamTransport>> open;
    open.reserve(kIdleConnections);
    const std::size_t before = ::mallinfo2().uordblks;
    loop.run_until_complete(open_idle(loop, address, open));
    loop.stop();
    loop.run_forever();  // every first receive is in the kernel
    const std::size_t after = ::mallinfo2().uordblks;
    const double buffers = static_cast<double>(kIdleConnections) * (64 << 10);
    state.counters["bytes_per_transport"] =
        (static_cast<double>(after - before) - buffers) / kIdleConnections;
    for (auto& transport : open) transport->abort();
    loop.stop();
    loop.run_forever();
    open.clear();
    loop.close();
    ::kill(peer, SIGKILL);
    ::waitpid(peer, nullptr, 0);
  }
}

BENCHMARK(BM_Bulk_Transport)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_Bulk_Asio)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_Spawn_Subprocess)->UseRealTime();
BENCHMARK(BM_Spawn_ByHand)->UseRealTime();
BENCHMARK(BM_IdleTransportMemory)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
