// The proactor part of restrack-demo: an echo server and its clients on an io_uring
// EventLoop, written with the slips a real program makes — a client socket that is never
// closed, a task dropped while it still waits for data, a transport dropped without
// close(), a child process whose transport is never closed — so the user sees each
// warning with the trace of where the object was created.
#pragma once

// Runs the demo to completion on a fresh loop; the warnings go to the `restrack` logger.
void run_proactor_demo();
