# Run as `cmake -DSOURCE_DIR=... -DCXX=... -P check_headers.cmake`: compiles
# every header of ours on its own (style guide item 4: headers are
# self-contained), syntax only, and fails naming the first that is not.
file(GLOB_RECURSE headers
  ${SOURCE_DIR}/actors/*.hpp ${SOURCE_DIR}/config/*.hpp
  ${SOURCE_DIR}/persistence/*.hpp ${SOURCE_DIR}/transports/*.hpp
  ${SOURCE_DIR}/cluster/*.hpp)
set(failed "")
foreach(header IN LISTS headers)
  execute_process(
    COMMAND ${CXX} -std=c++17 -fsyntax-only -x c++ -I${SOURCE_DIR} ${header}
    RESULT_VARIABLE result ERROR_VARIABLE errors)
  if(NOT result EQUAL 0)
    message("${errors}")
    list(APPEND failed ${header})
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "not self-contained: ${failed}")
endif()
list(LENGTH headers count)
message(STATUS "${count} headers compile on their own")
