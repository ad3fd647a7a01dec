# Compiler settings for restrack's own targets. Consumers get only what the exported
# targets carry in their INTERFACE properties.
include_guard(GLOBAL)

find_program(RESTRACK_CCACHE ccache)
if(RESTRACK_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${RESTRACK_CCACHE})
endif()

add_library(restrack_project_options INTERFACE)
target_compile_options(restrack_project_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  # Traces print paths relative to the source tree (tools/demo/demo.cc:57).
  -ffile-prefix-map=${PROJECT_SOURCE_DIR}/=)
if(RESTRACK_WARNINGS_AS_ERRORS)
  target_compile_options(restrack_project_options INTERFACE -Werror)
endif()

# Helper: apply the project's warning set to one of our own targets.
function(restrack_target_defaults target)
  target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:restrack_project_options>)
endfunction()
