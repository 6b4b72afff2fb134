# Warnings for our own code: fg_strict_warnings(target). -Werror only with FG_WERROR (on in
# scripts/ and CI, off by default so that any build type and compiler builds).
function(fg_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(FG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
