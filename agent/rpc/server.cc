#include "rpc/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace faasguard {
namespace {

absl::Status PrepareSocketPath(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return absl::InvalidArgumentError(absl::StrCat("socket path \"", path, "\" must be 1..",
                                                   sizeof(addr.sun_path) - 1, " characters"));
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    FG_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), 0755));

  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrCat("stat ", path));
  }
  if (!S_ISSOCK(st.st_mode))
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a socket; refusing to replace it"));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
    return absl::FailedPreconditionError(absl::StrCat(
        "socket ", path, " is in use by a running process (another faasguard-agent?); ",
        "stop it or choose another path with --socket"));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return ErrnoStatus(errno, absl::StrCat("remove stale socket ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<grpc::Server>> StartUnixServer(const std::string& socket_path,
                                                              grpc::Service* service) {
  FG_RETURN_IF_ERROR(PrepareSocketPath(socket_path));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials());
  b.RegisterService(service);
  b.SetMaxReceiveMessageSize(16 << 20);
  mode_t old = ::umask(0077);  // the socket is born 0600: no window where others can connect
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  ::umask(old);
  if (!server)
    return absl::UnavailableError(absl::StrCat("cannot serve gRPC on unix:", socket_path));
  if (::chmod(socket_path.c_str(), 0600) != 0)
    return ErrnoStatus(errno, absl::StrCat("chmod 0600 ", socket_path));
  return server;
}

}  // namespace faasguard
