# Run as `cmake -DSOURCE_DIR=... -DCLANG_FORMAT=... -P check_format.cmake`:
# fails when any C++ file of ours differs from what .clang-format asks for.
file(GLOB_RECURSE files
  ${SOURCE_DIR}/actors/*.cpp ${SOURCE_DIR}/actors/*.hpp
  ${SOURCE_DIR}/config/*.cpp ${SOURCE_DIR}/config/*.hpp
  ${SOURCE_DIR}/persistence/*.cpp ${SOURCE_DIR}/persistence/*.hpp
  ${SOURCE_DIR}/transports/*.cpp ${SOURCE_DIR}/transports/*.hpp
  ${SOURCE_DIR}/cluster/*.cpp ${SOURCE_DIR}/cluster/*.hpp
  ${SOURCE_DIR}/tests/*.cpp ${SOURCE_DIR}/tests/*.hpp)
list(FILTER files EXCLUDE REGEX "/node_modules/")
execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${files}
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "clang-format: the files above need `clang-format -i`")
endif()
