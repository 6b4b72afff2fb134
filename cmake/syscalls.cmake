# The syscall name table is generated from the kernel UAPI headers of the build machine
# (Debian's linux-libc-dev): asm/unistd_64.h (native) and asm/unistd_32.h (ia32 compat).
set(FG_SYSCALL_GEN ${CMAKE_BINARY_DIR}/syscalls-gen/syscall_names.inc)
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-multiarch
                OUTPUT_VARIABLE FG_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
set(FG_UNISTD_DIR /usr/include/${FG_MULTIARCH}/asm)
if(FG_BPF_ARCH STREQUAL "x86")
  set(FG_UNISTD_NATIVE ${FG_UNISTD_DIR}/unistd_64.h)
  set(FG_UNISTD_COMPAT ${FG_UNISTD_DIR}/unistd_32.h)
  set(FG_ARCH_NATIVE_NAME x86_64)
  set(FG_ARCH_COMPAT_NAME i386)
else()
  set(FG_UNISTD_NATIVE /usr/include/asm-generic/unistd.h)
  set(FG_UNISTD_COMPAT "")
  set(FG_ARCH_NATIVE_NAME aarch64)
  set(FG_ARCH_COMPAT_NAME arm)
endif()
# Called from the directory whose target compiles the table (custom command outputs are
# visible only in the directory that defines them).
function(fg_syscall_table_command)
add_custom_command(
  OUTPUT ${FG_SYSCALL_GEN}
  COMMAND ${CMAKE_COMMAND} -DOUT=${FG_SYSCALL_GEN} -DNATIVE=${FG_UNISTD_NATIVE}
          -DCOMPAT=${FG_UNISTD_COMPAT} -DNATIVE_NAME=${FG_ARCH_NATIVE_NAME}
          -DCOMPAT_NAME=${FG_ARCH_COMPAT_NAME}
          -P ${CMAKE_SOURCE_DIR}/cmake/gen_syscalls.cmake
  DEPENDS ${CMAKE_SOURCE_DIR}/cmake/gen_syscalls.cmake ${FG_UNISTD_NATIVE}
  COMMENT "Generating the syscall name table"
  VERBATIM)
endfunction()
