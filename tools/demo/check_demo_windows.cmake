# Runs the Windows demo (under the cross-compiling emulator, Wine) and checks what it
# printed, line by line: the tracker part, then the proactor part on the IOCP backend.
# -DEMULATOR=... -DDEMO=path/to/restrack-demo.exe
# One variable for both streams: merged in the order they were written.
execute_process(COMMAND ${EMULATOR} ${DEMO} OUTPUT_VARIABLE output ERROR_VARIABLE output
                RESULT_VARIABLE status)
string(REPLACE "\r\n" "\n" text "${output}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "restrack-demo exited with ${status}:\n${text}")
endif()
# The whole output, in pieces: between two pieces stands what differs from run to run (a
# socket value, a port, a pid, the demo's own directory), never a line break.
set(expected
  "restrack-demo: 0 resources open at start
restrack-demo: 3 resources open
tools/demo/demo_windows.cc:58: ResourceWarning: unclosed handle <file C:\\windows\\win.ini>
Object allocated at (most recent call first):
  #0 open_config_file() at tools/demo/demo_windows.cc:27
  #1 read_settings() at tools/demo/demo_windows.cc:53
  #2 run_tracker_demo() at tools/demo/demo_windows.cc:70
  #3 main at tools/demo/demo_windows.cc:98
tools/demo/demo_windows.cc:62: ResourceWarning: socket closed twice <socket="
  " (closed)>
Object allocated at (most recent call first):
  #0 open_listener() at tools/demo/demo_windows.cc:31
  #1 run_tracker_demo() at tools/demo/demo_windows.cc:66
  #2 main at tools/demo/demo_windows.cc:98
First closed at (most recent call first):
  #0 shut_down(restrack::TrackedSocket&) at tools/demo/demo_windows.cc:61
  #1 run_tracker_demo() at tools/demo/demo_windows.cc:73
  #2 main at tools/demo/demo_windows.cc:98
proactor demo: echo server on 127.0.0.1:"
  "
proactor demo: client 1 got \"hello\"
tools/demo/proactor_demo.cc:56: ResourceWarning: unclosed socket <tcp socket 127.0.0.1:"
  "->127.0.0.1:"
  ">
Object allocated at (most recent call first):
  #0 (anonymous namespace)::open_client(restrack::SocketAddress const&) at tools/demo/proactor_demo.cc:36
  #1 (anonymous namespace)::ask_and_forget_to_close(restrack::EventLoop&, restrack::SocketAddress, std::string) [coroutine] at tools/demo/proactor_demo.cc:52
  #2 run_proactor_demo() at tools/demo/proactor_demo.cc:119
  #3 main at tools/demo/demo_windows.cc:100
proactor demo: client 2 got \"still there?\"
tools/demo/proactor_demo.cc:101: ResourceWarning: task was destroyed but it is pending <Task-8>
Object allocated at (most recent call first):
  #0 (anonymous namespace)::wait_for_greeting(restrack::EventLoop&, restrack::TrackedSocket const&) at tools/demo/proactor_demo.cc:61
  #1 (anonymous namespace)::run_clients(restrack::EventLoop&, restrack::TrackedSocket const&, restrack::SocketAddress) [coroutine] at tools/demo/proactor_demo.cc:99
  #2 run_proactor_demo() at tools/demo/proactor_demo.cc:119
  #3 main at tools/demo/demo_windows.cc:100
tools/demo/proactor_demo.cc:75: ResourceWarning: unclosed transport <tcp socket 127.0.0.1:"
  "->127.0.0.1:"
  " reading>
Object allocated at (most recent call first):
  #0 (anonymous namespace)::greet_and_forget(restrack::EventLoop&, restrack::SocketAddress) [coroutine] at tools/demo/proactor_demo.cc:75
  #1 run_proactor_demo() at tools/demo/proactor_demo.cc:119
  #2 main at tools/demo/demo_windows.cc:100
proactor demo: helper process "
  " started
tools/demo/proactor_demo.cc:84: ResourceWarning: unclosed subprocess <subprocess pid="
  " running "
  "\\restrack-demo.exe>
Object allocated at (most recent call first):
  #0 (anonymous namespace)::start_helper_and_forget(restrack::EventLoop&) [coroutine] at tools/demo/proactor_demo.cc:84
  #1 run_proactor_demo() at tools/demo/proactor_demo.cc:119
  #2 main at tools/demo/demo_windows.cc:100
proactor demo: all 4 sessions ended
restrack-demo: 0 resources open at end
")
set(rest "${text}")
set(first TRUE)
foreach(piece IN LISTS expected)
  string(FIND "${rest}" "${piece}" at)
  set(gap "")
  if(at GREATER 0)
    string(SUBSTRING "${rest}" 0 ${at} gap)
  endif()
  if(at EQUAL -1 OR (first AND at GREATER 0) OR gap MATCHES "\n")
    message(FATAL_ERROR "restrack-demo's output lacks, at this point:\n${piece}\nIt printed:\n${text}")
  endif()
  set(first FALSE)
  string(LENGTH "${piece}" length)
  math(EXPR after "${at} + ${length}")
  string(SUBSTRING "${rest}" ${after} -1 rest)
endforeach()
if(NOT rest STREQUAL "")
  message(FATAL_ERROR "restrack-demo printed more than expected:\n${rest}\nIt printed:\n${text}")
endif()
