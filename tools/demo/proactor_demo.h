// The proactor part of restrack-demo: an echo server and its clients on an EventLoop
// (io_uring on Linux, IOCP on Windows), written with the slips a real program makes — a client
// socket that is never closed, a task dropped while it still waits for data, a transport dropped
// without close(), a child process whose transport is never closed — so the user sees each warning
// with the trace of where the object was created.
#pragma once

#include <string>
#include <vector>

// Runs the demo to completion on a fresh loop; the warnings go to the `restrack` logger.
void run_proactor_demo();

// The command of the child process the demo starts and forgets to close, defined next to
// main(): /bin/sleep 30 on Linux (demo.cc); restrack-demo itself on Windows, asked to
// sleep (demo_windows.cc).
std::vector<std::string> demo_helper_command();
