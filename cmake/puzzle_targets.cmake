# Helpers that give every target of ours the same flags.

set(PUZZLE_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion
    -Wshadow -Wnon-virtual-dtor)
if(PUZZLE_WARNINGS_AS_ERRORS)
  list(APPEND PUZZLE_WARNING_FLAGS -Werror)
endif()

if(PUZZLE_SANITIZERS)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(PUZZLE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PUZZLE_FUZZ needs clang (libFuzzer): use the `fuzz` "
                        "preset or tools/fuzz.sh")
  endif()
  # Every library gets the coverage instrumentation; the fuzzers add the
  # libFuzzer driver (tests/fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# puzzle_add_library(name SOURCES ... DEPENDS ...)
function(puzzle_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${PUZZLE_WARNING_FLAGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPENDS})
endfunction()

# puzzle_add_test(name SOURCES ... DEPENDS ... [LABELS ...])
# One GoogleTest binary per module; each TEST is its own CTest entry.
function(puzzle_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${PUZZLE_WARNING_FLAGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPENDS} GTest::gtest
                        GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "unit;${ARG_LABELS}")
endfunction()
