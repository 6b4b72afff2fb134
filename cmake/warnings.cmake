# Warnings for our own code: fg_strict_warnings(target)
function(fg_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()
