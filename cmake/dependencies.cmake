# System dependencies (Debian 12 packages; scripts/setup installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf>=1.0)
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++>=1.46)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf>=3.12)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp>=2.5)
find_package(absl CONFIG REQUIRED)

find_program(FG_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(FG_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
find_program(FG_PROTOC NAMES protoc REQUIRED)
find_program(FG_GRPC_CPP_PLUGIN NAMES grpc_cpp_plugin REQUIRED)

# gRPC reflection has no pkg-config file on Debian: link the library that ships with grpc++.
find_library(FG_GRPCPP_REFLECTION NAMES grpc++_reflection REQUIRED)
