// Internal: the protocols of the streams (streams.cc) as the pipe and subprocess streams
// use them (pipe.cc, subprocess.cc), so that those entry points build only with the pipe
// and subprocess transports.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "restrack/config.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/streams.h"
#include "restrack/proactor/subprocess.h"
#include "restrack/proactor/task.h"
#include "restrack/proactor/transport.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// The protocol under a connection's reader and writer.
class StreamReaderProtocol;
std::shared_ptr<StreamReaderProtocol> make_stream_protocol(EventLoop& loop, std::size_t limit);
// A factory that returns `protocol`, for the call that connects.
StreamProtocolFactory protocol_factory(std::shared_ptr<StreamReaderProtocol> protocol);
// The reader and the writer, once `connecting` (made with that factory) is done.
Task<std::pair<StreamReader, StreamWriter>> streams_of(
    Task<std::shared_ptr<StreamTransport>> connecting,
    std::shared_ptr<StreamReaderProtocol> protocol);

// The protocol of a stream server's connection: it runs `client_connected` with the
// connection's streams.
std::shared_ptr<StreamProtocol> make_server_stream_protocol(EventLoop& loop, std::size_t limit,
                                                            ClientConnected client_connected);

// The protocol under a child process's pipes as streams.
class SubprocessStreamProtocol;
std::shared_ptr<SubprocessStreamProtocol> make_subprocess_protocol(EventLoop& loop,
                                                                   std::size_t limit);
SubprocessProtocolFactory protocol_factory(std::shared_ptr<SubprocessStreamProtocol> protocol);
// The Process, once `spawning` (made with that factory) is done.
Task<Process> process_of(Task<std::shared_ptr<SubprocessTransport>> spawning,
                         std::shared_ptr<SubprocessStreamProtocol> protocol);

}  // namespace internal
RESTRACK_NAMESPACE_END
