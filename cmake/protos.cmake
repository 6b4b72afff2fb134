# fg_proto_library(<target> SOURCES <rel/path.proto>... [GRPC <rel/path.proto>...])
# Paths are relative to PROTO_ROOT (proto/). One library target linked by everything.
function(fg_proto_library target)
  cmake_parse_arguments(ARG "" "PROTO_ROOT" "SOURCES;GRPC" ${ARGN})
  set(out ${CMAKE_BINARY_DIR}/proto-gen)
  file(MAKE_DIRECTORY ${out})
  set(srcs)
  foreach(p IN LISTS ARG_SOURCES)
    string(REGEX REPLACE "\\.proto$" "" stem ${p})
    set(gen ${out}/${stem}.pb.cc ${out}/${stem}.pb.h)
    list(FIND ARG_GRPC ${p} is_grpc)
    set(plugin_args)
    if(NOT is_grpc EQUAL -1)
      list(APPEND gen ${out}/${stem}.grpc.pb.cc ${out}/${stem}.grpc.pb.h)
      set(plugin_args --grpc_out=${out} --plugin=protoc-gen-grpc=${FG_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${gen}
      COMMAND ${FG_PROTOC} -I${ARG_PROTO_ROOT} --cpp_out=${out} ${plugin_args} ${ARG_PROTO_ROOT}/${p}
      DEPENDS ${ARG_PROTO_ROOT}/${p}
      COMMENT "protoc ${p}"
      VERBATIM)
    foreach(g IN LISTS gen)
      if(g MATCHES "\\.cc$")
        list(APPEND srcs ${g})
      endif()
    endforeach()
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC ${out})
  target_link_libraries(${target} PUBLIC PkgConfig::GRPCPP PkgConfig::PROTOBUF)
endfunction()
