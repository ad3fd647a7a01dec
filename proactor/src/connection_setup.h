// Internal: the steps every outgoing connection shares once its socket is connected —
// making the protocol, starting the transport, and closing it again if any of that fails
// or is cancelled (rule 27). Used by create_connection and connect_pipe.
#pragma once

#include <memory>

#include "restrack/config.h"
#include "restrack/proactor/task.h"
#include "restrack/proactor/transport.h"
#include "stream_transport.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Calls `factory`, starts `transport` with the protocol and waits for connection_made.
// A factory that throws (or returns null) discards the transport without callbacks; a
// connection_made that throws, or a cancellation meanwhile, closes it — connection_made
// then connection_lost — and the error is rethrown.
Task<std::shared_ptr<StreamTransport>> start_connection(std::shared_ptr<SocketTransport> transport,
                                                        StreamProtocolFactory factory);

// Frames of restrack between the caller of create_connection & co. and the transport's
// guard, on top of the loop's dispatch frames when called from a task.
int connection_library_frames() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
