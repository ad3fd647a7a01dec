// restrack/proactor/pipe.h — named pipes: a pipe server and connect_pipe.
//
// A "pipe" is a local stream connection reached by a name: on Windows a named pipe
// (\\.\pipe\app), on Linux an AF_UNIX stream socket at a filesystem path (/run/app.sock).
// Both ends get stream transports and StreamProtocols, exactly like TCP.
//
//   restrack::Server server = restrack::create_pipe_server(loop, make_protocol, "/run/app.sock");
//   auto transport = co_await restrack::connect_pipe(loop, make_client, "/run/app.sock");
//
// The server owns its name exclusively (rule 14): a second server on a name that is being
// served fails with PipeNameInUseError. On Linux a socket file left behind by a server that
// died (nobody accepts on it) is replaced, and close() removes the name if it is still
// ours. On Windows the first instance is created with FILE_FLAG_FIRST_PIPE_INSTANCE; each
// instance serves one client, and the server makes the next instance before it hands a
// connected one out, so the name always has a free instance while the server is open;
// close() closes the free instance, and the name goes with the last connection. A Windows
// pipe server has no socket address: Server::sockets() is empty.
//
// Windows named pipes cannot be half-closed: their transports' can_write_eof() is false and
// write_eof() throws std::logic_error (as asyncio's pipe transports); close() them instead.
//
// connect_pipe retries while the server is busy (rule 17) — on Linux a full listen backlog
// (EAGAIN from a non-blocking connect), on Windows ERROR_PIPE_BUSY: it sleeps 1 ms, then 2,
// 4, ... doubling up to 100 ms between attempts, on ordinary loop timers, so cancelling the
// connect cancels the sleep and leaks nothing. Any other error (no such name: ENOENT;
// nobody listening: ECONNREFUSED) fails at once. No thread ever waits in a blocking
// connect (rule 18); on Windows an attempt is a CreateFile, which never waits.
//
// Descriptions: `<pipe server /run/app.sock serving, 3 connections>` (kind `server`),
// `<pipe fd=9 /run/app.sock reading>` (kind `transport`); on Windows
// `<pipe server \\.\pipe\app serving, 3 connections>` and
// `<pipe handle=0x1a4 \\.\pipe\app reading>` (`<pipe \\.\pipe\app connecting>` before
// connect_pipe has opened the pipe).
#pragma once

#include <stdexcept>
#include <string>

#include "restrack/config.h"
#include "restrack/proactor/call_site.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/server.h"
#include "restrack/proactor/task.h"
#include "restrack/proactor/transport.h"

RESTRACK_NAMESPACE_BEGIN

// Another server is serving the name (rule 14).
class PipeNameInUseError : public std::runtime_error {
 public:
  explicit PipeNameInUseError(const std::string& what) : std::runtime_error(what) {}
};

// Serves the pipe `name`. Throws PipeNameInUseError if another server serves it,
// std::system_error for other failures (the message names the pipe).
Server create_pipe_server(EventLoop& loop, StreamProtocolFactory factory, const std::string& name,
                          ServerOptions options = {}, CallSite where = CallSite::current());

// Connects to the pipe `name`, retrying while the server is busy (rule 17). Completes once
// connection_made has returned; setup failures close the transport as for
// create_connection (rule 27).
Task<std::shared_ptr<StreamTransport>> connect_pipe(EventLoop& loop, StreamProtocolFactory factory,
                                                    const std::string& name,
                                                    CallSite where = CallSite::current());

RESTRACK_NAMESPACE_END
