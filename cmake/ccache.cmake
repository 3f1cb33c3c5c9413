# Use ccache when it is installed: rebuilds on two cores are mostly cache hits.
find_program(PUZZLE_CCACHE ccache)
if(PUZZLE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${PUZZLE_CCACHE})
endif()
