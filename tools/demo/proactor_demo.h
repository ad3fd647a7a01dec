// The proactor part of restrack-demo: an echo server and its clients on an io_uring
// EventLoop, written with two slips a real program makes — a client socket that is never
// closed, and a task dropped while it still waits for data — so the user sees both
// warnings with the traces of where the socket was opened and the task created.
#pragma once

// Runs the demo to completion on a fresh loop; the warnings go to the `restrack` logger.
void run_proactor_demo();
