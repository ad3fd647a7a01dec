# Runs the Windows demo (under the cross-compiling emulator, Wine) and checks what it
# printed, line by line. -DEMULATOR=... -DDEMO=path/to/restrack-demo.exe
# One variable for both streams: merged in the order they were written.
execute_process(COMMAND ${EMULATOR} ${DEMO} OUTPUT_VARIABLE output ERROR_VARIABLE output
                RESULT_VARIABLE status)
string(REPLACE "\r\n" "\n" text "${output}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "restrack-demo exited with ${status}:\n${text}")
endif()
set(expected
  "restrack-demo: 0 resources open at start
restrack-demo: 3 resources open
tools/demo/demo_windows.cc:51: ResourceWarning: unclosed handle <file C:\\windows\\win.ini>
Object allocated at (most recent call first):
  #0 open_config_file() at tools/demo/demo_windows.cc:20
  #1 read_settings() at tools/demo/demo_windows.cc:46
  #2 run_tracker_demo() at tools/demo/demo_windows.cc:63
  #3 main at tools/demo/demo_windows.cc:75
tools/demo/demo_windows.cc:55: ResourceWarning: socket closed twice <socket="
  " (closed)>
Object allocated at (most recent call first):
  #0 open_listener() at tools/demo/demo_windows.cc:24
  #1 run_tracker_demo() at tools/demo/demo_windows.cc:59
  #2 main at tools/demo/demo_windows.cc:75
First closed at (most recent call first):
  #0 shut_down(restrack::TrackedSocket&) at tools/demo/demo_windows.cc:54
  #1 run_tracker_demo() at tools/demo/demo_windows.cc:66
  #2 main at tools/demo/demo_windows.cc:75
restrack-demo: 0 resources open at end
")
# The socket's value differs from run to run: the text before it and the text after it
# must both be there, in that order.
set(rest "${text}")
foreach(piece IN LISTS expected)
  string(FIND "${rest}" "${piece}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "restrack-demo's output lacks, at this point:\n${piece}\nIt printed:\n${text}")
  endif()
  string(LENGTH "${piece}" length)
  math(EXPR after "${at} + ${length}")
  string(SUBSTRING "${rest}" ${after} -1 rest)
endforeach()
