// The rpc layer without the engine and without root: the call counter and its interceptor, the
// gRPC server's options and refusals (on Unix sockets in a temporary directory and loopback
// TCP), and the metrics endpoint (text format, HTTP, a taken port).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "faasguard/v1/agent.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "rpc/call_counter.h"
#include "rpc/metrics.h"
#include "rpc/server.h"
#include "unit/temp_dir.h"

namespace faasguard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// --- CallCounter ---------------------------------------------------------------------------

TEST(CallCounterTest, CountsByMethodAndCode) {
  CallCounter c;
  c.Add("/a/B", "OK");
  c.Add("/a/B", "OK");
  c.Add("/a/B", "NOT_FOUND");
  c.Add("/a/C", "OK");
  EXPECT_THAT(c.Snapshot(),
              ElementsAre(Pair(Pair("/a/B", "NOT_FOUND"), 1u), Pair(Pair("/a/B", "OK"), 2u),
                          Pair(Pair("/a/C", "OK"), 1u)));
}

TEST(CallCounterTest, NamesEveryGrpcCode) {
  EXPECT_STREQ(GrpcCodeName(0), "OK");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_STREQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_STREQ(GrpcCodeName(17), "UNKNOWN");
  EXPECT_STREQ(GrpcCodeName(-1), "UNKNOWN");
}

// --- StartServer ---------------------------------------------------------------------------

class ServerTest : public ::testing::Test {
 protected:
  std::string Sock(const std::string& name = "agent.sock") { return dir_.Sub(name); }

  absl::StatusOr<std::unique_ptr<ApiServer>> Start(const ServerOptions& o) {
    listening_.clear();
    return StartServer(o, &service_, &listening_);
  }

  static ServerOptions Unix(const std::string& path) {
    ServerOptions o;
    o.unix_socket = path;
    return o;
  }

  TempDir dir_;
  v1::Agent::Service service_;  // every call UNIMPLEMENTED
  std::vector<std::string> listening_;
};

TEST_F(ServerTest, ServesOnAUnixSocketOnlyItsOwnerMayOpen) {
  auto s = Start(Unix(Sock()));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(listening_, ElementsAre("unix:" + Sock()));
  struct stat st;
  ASSERT_EQ(::stat(Sock().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ServerTest, CountsEveryCallItAnswers) {
  CallCounter calls;
  ServerOptions o = Unix(Sock());
  o.counter = &calls;
  auto s = Start(o);
  ASSERT_TRUE(s.ok()) << s.status();
  auto stub =
      v1::Agent::NewStub(grpc::CreateChannel("unix:" + Sock(), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    v1::GetStatusResponse r;
    EXPECT_EQ(stub->GetStatus(&ctx, {}, &r).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  grpc::ClientContext ctx;
  v1::ListFunctionsResponse r;
  EXPECT_EQ(stub->ListFunctions(&ctx, {}, &r).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(
      calls.Snapshot(),
      UnorderedElementsAre(Pair(Pair("/faasguard.v1.Agent/GetStatus", "UNIMPLEMENTED"), 2u),
                           Pair(Pair("/faasguard.v1.Agent/ListFunctions", "UNIMPLEMENTED"), 1u)));
}

TEST_F(ServerTest, RefusesNothingToServeOn) {
  auto s = Start(ServerOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("nothing to serve on"));
}

TEST_F(ServerTest, RefusesPlainTcpUnlessAskedFor) {
  ServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  auto s = Start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("refusing plain TCP on 127.0.0.1:0"));
  EXPECT_THAT(s.status().message(), HasSubstr("--insecure-tcp"));
  o.insecure_tcp = true;
  s = Start(o);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(listening_.size(), 1u);
  EXPECT_THAT(listening_[0], ::testing::StartsWith("tcp:127.0.0.1:"));
  EXPECT_NE(listening_[0], "tcp:127.0.0.1:0");
}

TEST_F(ServerTest, RefusesHalfATlsConfiguration) {
  ServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  o.tls_cert = dir_.Sub("cert.pem");
  auto s = Start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("needs all of --tls-cert, --tls-key and --tls-client-ca"));
}

TEST_F(ServerTest, RefusesASocketPathTooLong) {
  auto s = Start(Unix("/tmp/" + std::string(sizeof(sockaddr_un::sun_path), 'x')));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("must be 1.."));
}

TEST_F(ServerTest, NeverReplacesAFileThatIsNotASocket) {
  int fd = ::open(Sock().c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto s = Start(Unix(Sock()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.status().message(), HasSubstr("is not a socket"));
  struct stat st;
  ASSERT_EQ(::stat(Sock().c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(ServerTest, RefusesASocketAnotherServerAnswersOn) {
  auto first = Start(Unix(Sock()));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Start(Unix(Sock()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("in use by a running process"));
  EXPECT_THAT(second.status().message(), HasSubstr("--socket"));
  // The first one's socket is still there.
  EXPECT_EQ(::access(Sock().c_str(), F_OK), 0);
}

TEST_F(ServerTest, ReplacesAStaleSocket) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, Sock().c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);  // bound, never listened: nobody answers
  auto s = Start(Unix(Sock()));
  ASSERT_TRUE(s.ok()) << s.status();
}

TEST_F(ServerTest, ATakenTcpPortIsAnErrorAndLeavesNoSocketBehind) {
  ServerOptions o;
  o.tcp_addr = "127.0.0.1:0";
  o.insecure_tcp = true;
  auto first = Start(o);
  ASSERT_TRUE(first.ok()) << first.status();
  std::string port = listening_[0].substr(listening_[0].rfind(':') + 1);

  ServerOptions again = Unix(Sock("second.sock"));
  again.tcp_addr = "127.0.0.1:" + port;
  again.insecure_tcp = true;
  auto second = Start(again);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen on 127.0.0.1:" + port));
  EXPECT_THAT(second.status().message(), HasSubstr("--listen-tcp"));
  EXPECT_NE(::access(Sock("second.sock").c_str(), F_OK), 0);
}

// --- Metrics: text format and endpoint -----------------------------------------------------

TEST(PromWriterTest, WritesFamiliesAndSamples) {
  PromWriter w;
  w.Family("x_total", "counter", "Things.");
  w.Sample("x_total", 3);
  w.Sample("x_total", 12345678901234, {{"a", "1"}, {"b", "q\"b\\s\nn"}});
  w.Sample("x_total", 0.25);
  EXPECT_EQ(w.text(),
            "# HELP x_total Things.\n"
            "# TYPE x_total counter\n"
            "x_total 3\n"
            "x_total{a=\"1\",b=\"q\\\"b\\\\s\\nn\"} 12345678901234\n"
            "x_total 0.25\n");
}

TEST(ParseHostPortTest, TakesHostAndPort) {
  auto hp = ParseHostPort("127.0.0.1:9464");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 9464);
  hp = ParseHostPort("[::1]:0");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 0);
  for (const char* bad : {"9464", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536", "h:-1"})
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
}

class MetricsServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<MetricsServer> Start(const std::string& addr) {
    auto m = MetricsServer::Start(
        addr, [] { return std::string("faasguard_up 1\n"); },
        [this](std::string* why) {
          *why = "the event reader stopped";
          return healthy_;
        });
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? std::move(*m) : nullptr;
  }

  bool healthy_ = true;
};

TEST_F(MetricsServerTest, ServesMetricsAndHealth) {
  auto m = Start("127.0.0.1:0");
  ASSERT_TRUE(m);
  EXPECT_THAT(m->address(), ::testing::StartsWith("127.0.0.1:"));
  EXPECT_NE(m->address(), "127.0.0.1:0");
  httplib::Client c("http://" + m->address());
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "faasguard_up 1\n");
  EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
  healthy_ = false;
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "the event reader stopped\n");
}

// httplib's stop() does nothing until the listening thread runs: a server stopped right after
// it started used to wait forever for that thread.
TEST_F(MetricsServerTest, StopsRightAfterStarting) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Start("127.0.0.1:0"));
}

// cpp-httplib sets SO_REUSEPORT unless told otherwise: two servers would share the port.
TEST_F(MetricsServerTest, ATakenPortIsAnErrorNamingTheAddressAndTheFlag) {
  auto first = Start("127.0.0.1:0");
  ASSERT_TRUE(first);
  auto second = MetricsServer::Start(
      first->address(), [] { return std::string(); }, [](std::string*) { return true; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(first->address() + " is in use"));
  EXPECT_THAT(second.status().message(), HasSubstr("--metrics-addr"));
}

TEST_F(MetricsServerTest, RefusesAnAddressWithoutAPort) {
  auto m = MetricsServer::Start(
      "localhost", [] { return std::string(); }, [](std::string*) { return true; });
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("--metrics-addr \"localhost\" is not HOST:PORT"));
}

}  // namespace
}  // namespace faasguard
