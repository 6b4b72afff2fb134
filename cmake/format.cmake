# A unit test that fails when C++ sources are not clang-formatted (.clang-format: Google, 100).
function(fg_format_check)
  find_program(FG_CLANG_FORMAT NAMES clang-format clang-format-14 REQUIRED)
  add_test(NAME format.clang_format
           COMMAND ${CMAKE_COMMAND} -DCLANG_FORMAT=${FG_CLANG_FORMAT} -DROOT=${CMAKE_SOURCE_DIR}
                   -P ${CMAKE_SOURCE_DIR}/cmake/check_format.cmake)
  set_tests_properties(format.clang_format PROPERTIES LABELS unit)
endfunction()
