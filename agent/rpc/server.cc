#include "rpc/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_posix.h"

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

// A listening Unix socket at `path`, born 0600 (umask) so no one else can connect in between.
absl::StatusOr<int> ListenUnix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  mode_t old = ::umask(0077);
  int r = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (r != 0) return ErrnoStatus(err, absl::StrCat("bind ", path));
  if (::chmod(path.c_str(), 0600) != 0) return ErrnoStatus(errno, absl::StrCat("chmod ", path));
  if (::listen(fd.get(), 128) != 0) return ErrnoStatus(errno, absl::StrCat("listen ", path));
  return fd.Release();
}

}  // namespace

ApiServer::~ApiServer() {
  Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  for (int fd : {listen_fd_, wake_[0], wake_[1]})
    if (fd >= 0) ::close(fd);
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
}

void ApiServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  if (shut_) return;
  shut_ = true;
  if (acceptor_.joinable()) {
    char c = 1;
    (void)!::write(wake_[1], &c, 1);
    acceptor_.join();
  }
  if (server_) server_->Shutdown(deadline);
}

void ApiServer::Accept() {
  const uid_t self = ::geteuid();
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LogError("API socket: poll failed; no longer accepting", {{"error", std::strerror(errno)}});
      return;
    }
    if (p[1].revents) return;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;  // the peer went away, or out of fds: the next one may work
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != self)) {
      uint64_t n = ++refused_;
      if (n <= 10 || n % 1000 == 0)
        LogWarn("API socket: refused a client that is not root",
                {{"uid", static_cast<uint64_t>(cred.uid)},
                 {"pid", static_cast<int64_t>(cred.pid)},
                 {"refused", n}});
      ::close(fd);
      continue;
    }
    grpc::AddInsecureChannelFromFd(server_.get(), fd);  // gRPC owns it now
  }
}

absl::StatusOr<std::unique_ptr<ApiServer>> StartServer(const ServerOptions& o,
                                                       grpc::Service* service,
                                                       std::vector<std::string>* listening) {
  if (o.unix_socket.empty() && o.tcp_addr.empty())
    return absl::InvalidArgumentError("nothing to serve on: give a socket or a TCP address");
  std::shared_ptr<grpc::ServerCredentials> tcp_creds;
  if (!o.tcp_addr.empty()) {
    bool any_tls = !o.tls_cert.empty() || !o.tls_key.empty() || !o.tls_client_ca.empty();
    if (any_tls) {
      if (o.tls_cert.empty() || o.tls_key.empty() || o.tls_client_ca.empty())
        return absl::InvalidArgumentError(
            "TCP with TLS needs all of --tls-cert, --tls-key and --tls-client-ca "
            "(client certificates are required)");
      FG_ASSIGN_OR_RETURN(std::string cert, ReadFile(o.tls_cert));
      FG_ASSIGN_OR_RETURN(std::string key, ReadFile(o.tls_key));
      FG_ASSIGN_OR_RETURN(std::string ca, ReadFile(o.tls_client_ca));
      grpc::SslServerCredentialsOptions so(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      so.pem_root_certs = ca;
      so.pem_key_cert_pairs.push_back({key, cert});
      tcp_creds = grpc::SslServerCredentials(so);
    } else if (o.insecure_tcp) {
      tcp_creds = grpc::InsecureServerCredentials();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing plain TCP on ", o.tcp_addr,
          ": give --tls-cert, --tls-key and --tls-client-ca for mutual TLS, or --insecure-tcp "
          "to accept unauthenticated clients"));
    }
  }
  std::unique_ptr<ApiServer> api(new ApiServer());
  if (!o.unix_socket.empty()) {
    FG_RETURN_IF_ERROR(PrepareSocketPath(o.unix_socket));
    FG_ASSIGN_OR_RETURN(api->listen_fd_, ListenUnix(o.unix_socket));
    api->socket_path_ = o.unix_socket;  // removed again if the server does not start
    if (::pipe2(api->wake_, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder b;
  // gRPC sets SO_REUSEPORT by default: a second agent would then share the TCP port, and
  // clients would reach either.
  b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int tcp_port = 0;
  if (tcp_creds) b.AddListeningPort(o.tcp_addr, tcp_creds, &tcp_port);
  b.RegisterService(service);
  b.SetMaxReceiveMessageSize(16 << 20);
  if (o.counter) b.experimental().SetInterceptorCreators(o.counter->Factories());
  std::unique_ptr<grpc::Server> server = b.BuildAndStart();
  if (tcp_creds && (!server || tcp_port == 0))
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", o.tcp_addr,
                     " (in use by another process? choose another address with --listen-tcp)"));
  if (!server) return absl::UnavailableError("cannot start the gRPC server");
  api->server_ = std::move(server);
  api->socket_path_.clear();
  if (!o.unix_socket.empty()) {
    api->acceptor_ = std::thread([a = api.get()] { a->Accept(); });
    if (listening) listening->push_back("unix:" + o.unix_socket);
  }
  if (tcp_creds && listening) {
    std::string host = o.tcp_addr.substr(0, o.tcp_addr.rfind(':'));
    listening->push_back(absl::StrCat(
        o.insecure_tcp && o.tls_cert.empty() ? "tcp:" : "tcp+tls:", host, ":", tcp_port));
  }
  return api;
}

}  // namespace faasguard
