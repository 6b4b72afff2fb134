# BPF objects: clang (CO-RE) -> bpftool gen object (static link) -> bpftool gen skeleton.
# The skeleton header embeds the object: the agent loads nothing from disk at run time.

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64|AMD64")
  set(FG_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(FG_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "faasguard: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

set(FG_BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf-gen)
file(MAKE_DIRECTORY ${FG_BPF_GEN_DIR})

# vmlinux.h: generated from the build machine's BTF unless FG_VMLINUX_H names one.
if(FG_VMLINUX_H)
  configure_file(${FG_VMLINUX_H} ${FG_BPF_GEN_DIR}/vmlinux.h COPYONLY)
else()
  if(NOT EXISTS /sys/kernel/btf/vmlinux)
    message(FATAL_ERROR "faasguard: /sys/kernel/btf/vmlinux is missing; pass -DFG_VMLINUX_H=<file>")
  endif()
  add_custom_command(
    OUTPUT ${FG_BPF_GEN_DIR}/vmlinux.h
    COMMAND ${FG_BPFTOOL} btf dump file /sys/kernel/btf/vmlinux format c > ${FG_BPF_GEN_DIR}/vmlinux.h.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${FG_BPF_GEN_DIR}/vmlinux.h.tmp ${FG_BPF_GEN_DIR}/vmlinux.h
    COMMENT "Generating vmlinux.h from /sys/kernel/btf/vmlinux"
    VERBATIM)
endif()
add_custom_target(fg_vmlinux_h DEPENDS ${FG_BPF_GEN_DIR}/vmlinux.h)

# fg_bpf_skeleton(<target> NAME <skeleton name> SOURCES <file.bpf.c>...)
# Defines an INTERFACE library <target> whose include path holds <name>.skel.h.
function(fg_bpf_skeleton target)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES" ${ARGN})
  set(objs)
  set(werror)
  if(FG_WERROR)
    set(werror -Werror)
  endif()
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(base ${src} NAME_WE)
    set(obj ${FG_BPF_GEN_DIR}/${ARG_NAME}_${base}.bpf.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${FG_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${FG_BPF_ARCH}
              -Wall ${werror} -Wno-unused-function -Wno-compare-distinct-pointer-types
              -I${FG_BPF_GEN_DIR} -I${CMAKE_SOURCE_DIR}/bpf
              -MD -MF ${obj}.d -c ${CMAKE_CURRENT_SOURCE_DIR}/${src} -o ${obj}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${src} ${FG_BPF_GEN_DIR}/vmlinux.h
      DEPFILE ${obj}.d
      COMMENT "BPF ${src}"
      VERBATIM)
    list(APPEND objs ${obj})
  endforeach()
  set(linked ${FG_BPF_GEN_DIR}/${ARG_NAME}.bpf.o)
  set(skel ${FG_BPF_GEN_DIR}/${ARG_NAME}.skel.h)
  add_custom_command(
    OUTPUT ${linked} ${skel}
    COMMAND ${FG_BPFTOOL} gen object ${linked} ${objs}
    COMMAND ${FG_BPFTOOL} gen skeleton ${linked} name ${ARG_NAME} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${objs}
    COMMENT "BPF skeleton ${ARG_NAME}"
    VERBATIM)
  add_custom_target(${target}_gen DEPENDS ${skel})
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} INTERFACE ${FG_BPF_GEN_DIR} ${CMAKE_SOURCE_DIR}/bpf)
  target_link_libraries(${target} INTERFACE PkgConfig::LIBBPF)
endfunction()
