#include "proactor_demo.h"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "restrack/proactor/proactor.h"

namespace {

using restrack::EventLoop;
using restrack::Socket;
using restrack::SocketAddress;
using restrack::Task;

// Echoes one connection until the client hangs up.
Task<void> echo_session(EventLoop& loop, Socket connection) {
  while (true) {
    std::string data = co_await restrack::sock_recv(loop, connection, 4096);
    if (data.empty()) break;
    co_await restrack::sock_sendall(loop, connection, data);
  }
  connection.close();
}

Task<void> accept_clients(EventLoop& loop, const Socket& listener, int count,
                          std::vector<Task<void>>& sessions) {
  for (int i = 0; i < count; ++i) {
    Socket connection = co_await restrack::sock_accept(loop, listener);
    sessions.push_back(loop.create_task(echo_session(loop, std::move(connection))));
  }
}

Socket open_client(const SocketAddress& server) {
  return restrack::open_socket(server.family(), SOCK_STREAM);
}

Task<std::string> ask(EventLoop& loop, SocketAddress server, std::string question) {
  Socket client = open_client(server);
  co_await restrack::sock_connect(loop, client, server);
  co_await restrack::sock_sendall(loop, client, question);
  std::string answer = co_await restrack::sock_recv(loop, client, 4096);
  client.close();
  co_return answer;
}

// The slip: returns without closing its socket. restrack closes it when `client` is
// destroyed and reports "unclosed socket" with the trace of open_client().
Task<std::string> ask_and_forget_to_close(EventLoop& loop, SocketAddress server,
                                          std::string question) {
  Socket client = open_client(server);
  co_await restrack::sock_connect(loop, client, server);
  co_await restrack::sock_sendall(loop, client, question);
  co_return co_await restrack::sock_recv(loop, client, 4096);
}

// Waits for a greeting the server never sends.
Task<std::string> wait_for_greeting(EventLoop& loop, const Socket& client) {
  co_return co_await restrack::sock_recv(loop, client, 64);
}

// Greets the server through a transport and a protocol.
class Greeter final : public restrack::StreamProtocol {
 public:
  void connection_made(restrack::StreamTransport& transport) override { transport.write("hi"); }
};

// The third slip: the transport is dropped without close(). restrack closes its socket
// when the last reference goes and reports "unclosed transport" with this line's trace.
Task<void> greet_and_forget(EventLoop& loop, SocketAddress server) {
  std::shared_ptr<restrack::StreamTransport> transport = co_await restrack::create_connection(
      loop, [] { return std::make_shared<Greeter>(); }, server);
  co_await loop.sleep(std::chrono::milliseconds(10));
}

// The fourth slip: a child process whose transport is never closed. restrack reports
// "unclosed subprocess", then kills and reaps the child.
Task<void> start_helper_and_forget(EventLoop& loop) {
  std::vector<std::string> command = demo_helper_command();
  std::shared_ptr<restrack::SubprocessTransport> helper = co_await restrack::subprocess_exec(
      loop, [] { return std::make_shared<restrack::SubprocessProtocol>(); }, command);
  std::printf("proactor demo: helper process %d started\n", helper->pid());
}

Task<void> run_clients(EventLoop& loop, const Socket& listener, SocketAddress server) {
  std::vector<Task<void>> sessions;
  Task<void> accepting = loop.create_task(accept_clients(loop, listener, 4, sessions));
  std::printf("proactor demo: client 1 got \"%s\"\n",
              (co_await ask(loop, server, "hello")).c_str());
  std::printf("proactor demo: client 2 got \"%s\"\n",
              (co_await ask_and_forget_to_close(loop, server, "still there?")).c_str());

  Socket quiet_client = open_client(server);
  co_await restrack::sock_connect(loop, quiet_client, server);
  {
    // The second slip: the task is dropped while its receive is pending. restrack reports
    // the task with the trace of where it was created; its receive is cancelled.
    Task<std::string> greeting = loop.create_task(wait_for_greeting(loop, quiet_client));
    co_await loop.sleep(std::chrono::milliseconds(10));
  }
  quiet_client.close();

  co_await greet_and_forget(loop, server);
  co_await start_helper_and_forget(loop);

  co_await accepting;
  for (Task<void>& session : sessions) co_await session;
  std::printf("proactor demo: all %zu sessions ended\n", sessions.size());
}

}  // namespace

void run_proactor_demo() {
  EventLoop loop;
  Socket listener = restrack::listen_on(SocketAddress::ipv4("127.0.0.1", 0));
  const SocketAddress server = restrack::local_address(listener);
  std::printf("proactor demo: echo server on %s\n", server.to_string().c_str());
  loop.run_until_complete(run_clients(loop, listener, server));
  listener.close();
  loop.close();
}
