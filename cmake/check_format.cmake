file(GLOB_RECURSE srcs ${ROOT}/agent/*.cc ${ROOT}/agent/*.h ${ROOT}/tests/*.cc ${ROOT}/tests/*.h
     ${ROOT}/bench/*.cc)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${srcs} RESULT_VARIABLE rc
                ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format would change these files (run clang-format -i):\n${out}")
endif()
