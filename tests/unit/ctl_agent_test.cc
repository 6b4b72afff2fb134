// faasguardctl against an agent: the fake of tests/fakes/fake_agent.h on a Unix socket. What
// each command asks the agent, what it prints and its exit code; errors in plain words.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/version.h"
#include "ctl/client.h"
#include "ctl/ctl.h"
#include "fakes/fake_agent.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/profile.h"
#include "unit/temp_dir.h"

namespace faasguard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result CtlAt(const std::string& socket, std::vector<std::string> args) {
  args.insert(args.begin(), {"--socket", socket});
  std::ostringstream out, err;
  int code = RunCtl(args, out, err);
  return {code, out.str(), err.str()};
}

v1::Violation Violation(uint64_t id, const std::string& ref) {
  v1::Violation v;
  v.set_id(id);
  *v.mutable_function() = *ParseFunctionRef(ref);
  v.set_kind("exec");
  v.set_attempted("/usr/bin/touch-" + std::to_string(id));
  v.set_action("killed");
  return v;
}

v1::AgentEvent Event(const std::string& ref, const std::string& what) {
  v1::AgentEvent e;
  e.set_kind(v1::EVENT_KIND_LIFECYCLE);
  *e.mutable_function() = *ParseFunctionRef(ref);
  e.set_what(what);
  return e;
}

class CtlAgentTest : public ::testing::Test {
 protected:
  Result Ctl(std::vector<std::string> args) { return CtlAt(socket_, std::move(args)); }

  // A profile document for `ref` in the temporary directory.
  std::string Doc(const std::string& ref, const std::string& mode = "MODE_LEARN") {
    v1::FunctionId id = *ParseFunctionRef(ref);
    std::string path = dir_.Sub(id.namespace_() + "_" + id.name() + ".json");
    std::ofstream(path)
        << R"({"schemaVersion": 1, "function": {"platform": "local", "namespace": ")"
        << id.namespace_() << R"(", "name": ")" << id.name() << R"("}, "mode": ")" << mode
        << R"("})";
    return path;
  }

  TempDir dir_;
  std::string socket_ = dir_.Sub("agent.sock");
  fakes::FakeAgent agent_{socket_};
};

// --- unknown functions: exit 4 everywhere ---------------------------------------------------

TEST_F(CtlAgentTest, AnUnknownFunctionIsExit4ForEveryCommand) {
  agent_.AddFunction("default/hello");
  std::string doc = Doc("default/nosuch");
  for (std::vector<std::string> args : {std::vector<std::string>{"violations", "default/nosuch"},
                                        {"events", "default/nosuch"},
                                        {"events", "nosuch", "--follow"},
                                        {"functions", "default/nosuch"},
                                        {"profile", "show", "default/nosuch"},
                                        {"profile", "export", "-n", "default", "nosuch"},
                                        {"profile", "diff", "default/nosuch", doc},
                                        {"profile", "delete", "default/nosuch"},
                                        {"mode", "default/nosuch", "enforce"}}) {
    Result r = Ctl(args);
    EXPECT_EQ(r.code, kExitNotFound) << args[0] << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("no function default/nosuch")) << args[0];
    EXPECT_EQ(r.out, "") << args[0];
  }
  // The lists were never asked for: an empty list would read as "all is well".
  for (const auto& call : agent_.Calls()) {
    EXPECT_NE(call, "ListViolations");
    EXPECT_NE(call, "StreamEvents");
  }
}

TEST_F(CtlAgentTest, AKnownFunctionWithoutViolationsSaysSo) {
  agent_.AddFunction("default/hello");
  Result r = Ctl({"violations", "default/hello"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "No violations.\n");
  EXPECT_THAT(agent_.Calls(), ElementsAre("GetFunction", "ListViolations"));
}

// --- profile diff: exit 1 when they differ ----------------------------------------------------

TEST_F(CtlAgentTest, DiffExitsZeroWhenIdenticalOneWhenTheyDifferAndAboveOnOnError) {
  agent_.AddFunction("default/hello");
  std::string doc = Doc("default/hello");
  agent_.diff_answer.set_identical(true);
  Result r = Ctl({"profile", "diff", "default/hello", doc});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("identical"));

  agent_.diff_answer.set_identical(false);
  agent_.diff_answer.add_added()->set_name("main");
  agent_.diff_answer.mutable_added(0)->add_execs()->set_path("/bin/id");
  r = Ctl({"profile", "diff", "hello", doc});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("+ exec    /bin/id"));
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(Ctl({"profile", "diff", "hello", doc, "-o", "json"}).code, 1);

  // An error is never 1 here.
  agent_.fail_with = grpc::Status(grpc::StatusCode::INTERNAL, "disk on fire");
  r = Ctl({"profile", "diff", "hello", doc});
  EXPECT_EQ(r.code, kExitDiffFailed);
  EXPECT_THAT(r.err, HasSubstr("disk on fire"));
  agent_.fail_with = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad profile");
  EXPECT_EQ(Ctl({"profile", "diff", "hello", doc}).code, kExitUsage);
}

// --- -n / --namespace -----------------------------------------------------------------------

TEST_F(CtlAgentTest, NamespaceFiltersTheFunctionList) {
  agent_.AddFunction("default/hello");
  agent_.AddFunction("shop/cart");
  agent_.AddFunction("shop/checkout");
  Result r = Ctl({"functions", "-n", "shop"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cart"));
  EXPECT_THAT(r.out, HasSubstr("checkout"));
  EXPECT_THAT(r.out, Not(HasSubstr("hello")));
  r = Ctl({"functions", "--namespace=shop", "-o", "json"});
  EXPECT_THAT(r.out, Not(HasSubstr("hello")));
  EXPECT_THAT(r.out, HasSubstr("checkout"));
  EXPECT_EQ(Ctl({"functions", "-n", "nowhere"}).out,
            "No functions in namespace nowhere on this node.\n");
  EXPECT_THAT(Ctl({"functions"}).out, HasSubstr("hello"));
}

TEST_F(CtlAgentTest, NamespaceNamesTheFunction) {
  agent_.AddFunction("shop/cart");
  v1::Profile p;
  *p.mutable_function() = *ParseFunctionRef("shop/cart");
  agent_.profiles["shop/cart"] = p;
  EXPECT_EQ(Ctl({"profile", "show", "-n", "shop", "cart"}).code, kExitOk);
  EXPECT_EQ(Ctl({"profile", "show", "cart", "--namespace", "shop", "-o", "json"}).code, kExitOk);
  EXPECT_EQ(Ctl({"profile", "show", "-n", "shop", "shop/cart"}).code, kExitOk);  // agrees
  EXPECT_EQ(Ctl({"functions", "-n", "shop", "cart"}).code, kExitOk);
  Result r = Ctl({"mode", "-n", "shop", "cart", "monitor"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "shop/cart: learn -> monitor (0 allow-list entries in force)\n");
  // Without -n, a bare name is in "default".
  EXPECT_EQ(Ctl({"profile", "show", "cart"}).code, kExitNotFound);
}

TEST_F(CtlAgentTest, NamespaceFiltersViolationsAndKeepsTheNewestOfIt) {
  agent_.AddFunction("default/hello");
  agent_.AddFunction("shop/cart");
  for (uint64_t id = 1; id <= 6; ++id)
    agent_.violations.push_back(Violation(id, id % 2 ? "shop/cart" : "default/hello"));
  Result r = Ctl({"violations", "-n", "shop", "--limit", "2", "-o", "json"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(agent_.violation_lists.size(), 1u);
  EXPECT_EQ(agent_.violation_lists[0].limit(), 10000u);
  EXPECT_FALSE(agent_.violation_lists[0].has_function());
  EXPECT_THAT(r.out, HasSubstr("touch-3"));
  EXPECT_THAT(r.out, HasSubstr("touch-5"));
  EXPECT_THAT(r.out, Not(HasSubstr("touch-1\"")));  // older than the limit
  EXPECT_THAT(r.out, Not(HasSubstr("touch-4")));    // another namespace
  // Without -n: the agent applies the limit.
  Ctl({"violations", "--limit", "3"});
  EXPECT_EQ(agent_.violation_lists.back().limit(), 3u);
}

TEST_F(CtlAgentTest, NamespaceFiltersEvents) {
  agent_.events = {Event("shop/cart", "registered"), Event("default/hello", "registered"),
                   Event("shop/checkout", "mode")};
  Result r = Ctl({"events", "-n", "shop"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("shop/cart"));
  EXPECT_THAT(r.out, HasSubstr("shop/checkout"));
  EXPECT_THAT(r.out, Not(HasSubstr("default/hello")));
}

// --- events --kind is repeatable --------------------------------------------------------------

TEST_F(CtlAgentTest, EveryKindGivenIsAsked) {
  EXPECT_EQ(Ctl({"events", "--kind", "new", "--kind", "violation"}).code, kExitOk);
  EXPECT_EQ(Ctl({"events", "--kind", "new,lifecycle", "--kind=violation"}).code, kExitOk);
  ASSERT_EQ(agent_.streams.size(), 2u);
  EXPECT_THAT(agent_.streams[0].kinds(),
              ElementsAre(v1::EVENT_KIND_NEW_BEHAVIOUR, v1::EVENT_KIND_VIOLATION));
  EXPECT_THAT(agent_.streams[1].kinds(),
              ElementsAre(v1::EVENT_KIND_NEW_BEHAVIOUR, v1::EVENT_KIND_LIFECYCLE,
                          v1::EVENT_KIND_VIOLATION));
  EXPECT_EQ(agent_.streams[0].replay(), 20u);
}

// --- profile import: the mode only when asked, --dry-run ------------------------------------

TEST_F(CtlAgentTest, ImportAsksForNoModeChangeByDefault) {
  std::string doc = Doc("default/hello", "MODE_ENFORCE");
  agent_.put_answer.set_items(3);
  agent_.put_answer.set_previous_mode(v1::MODE_LEARN);
  agent_.put_answer.set_mode(v1::MODE_LEARN);
  Result r = Ctl({"profile", "import", doc});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(agent_.puts.size(), 1u);
  const v1::PutProfileRequest& req = agent_.puts[0];
  EXPECT_EQ(req.profile().function().name(), "hello");
  EXPECT_EQ(req.profile().mode(), v1::MODE_ENFORCE);  // the document as it is
  EXPECT_FALSE(req.take_mode());
  EXPECT_EQ(req.mode(), v1::MODE_UNSPECIFIED);
  EXPECT_FALSE(req.dry_run());
  EXPECT_FALSE(req.merge());
  EXPECT_EQ(r.err, "[1/1] default/hello from " + doc + ": replaced, 3 items, mode learn\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CtlAgentTest, ImportModeFlagsReachTheRequest) {
  std::string doc = Doc("default/hello");
  agent_.put_answer.set_mode(v1::MODE_ENFORCE);
  EXPECT_EQ(Ctl({"profile", "import", "--mode", "enforce", "--merge", doc}).code, kExitOk);
  EXPECT_EQ(Ctl({"profile", "import", "--take-mode", doc}).code, kExitOk);
  ASSERT_EQ(agent_.puts.size(), 2u);
  EXPECT_EQ(agent_.puts[0].mode(), v1::MODE_ENFORCE);
  EXPECT_TRUE(agent_.puts[0].merge());
  EXPECT_FALSE(agent_.puts[0].take_mode());
  EXPECT_TRUE(agent_.puts[1].take_mode());
  EXPECT_EQ(agent_.puts[1].mode(), v1::MODE_UNSPECIFIED);
}

TEST_F(CtlAgentTest, ImportPrintsAModeChange) {
  std::string doc = Doc("default/hello");
  agent_.put_answer.set_previous_mode(v1::MODE_ENFORCE);
  agent_.put_answer.set_mode(v1::MODE_LEARN);
  agent_.put_answer.set_items(9);
  Result r = Ctl({"profile", "import", "--take-mode", doc});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, HasSubstr(": replaced, 9 items, mode: enforce -> learn\n"));
}

TEST_F(CtlAgentTest, DryRunPrintsTheDiffAndTheModeItWouldEndIn) {
  std::string doc = Doc("default/hello");
  agent_.put_answer.set_dry_run(true);
  agent_.put_answer.set_previous_mode(v1::MODE_ENFORCE);
  agent_.put_answer.set_mode(v1::MODE_ENFORCE);
  agent_.put_answer.set_items(2);
  v1::ContainerProfile* removed = agent_.put_answer.mutable_diff()->add_removed();
  removed->set_name("main");
  removed->add_execs()->set_path("/usr/bin/python3");
  Result r = Ctl({"profile", "import", "--dry-run", doc});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  ASSERT_EQ(agent_.puts.size(), 1u);
  EXPECT_TRUE(agent_.puts[0].dry_run());
  EXPECT_THAT(r.err, HasSubstr(": would replace, 2 items, mode enforce\n"));
  EXPECT_THAT(r.out, HasSubstr("- only in default/hello"));
  EXPECT_THAT(r.out, HasSubstr("  - exec    /usr/bin/python3"));
  EXPECT_THAT(r.out, HasSubstr("mode: enforce (unchanged)\n"));
}

TEST_F(CtlAgentTest, DryRunThatAnOlderAgentAppliedIsAnError) {
  std::string doc = Doc("default/hello");
  Result r = Ctl({"profile", "import", "--dry-run", doc});  // the answer has no dry_run
  EXPECT_EQ(r.code, kExitError);
  EXPECT_THAT(r.err, HasSubstr("does not know --dry-run"));
  EXPECT_THAT(r.err, HasSubstr("WAS applied"));
}

TEST_F(CtlAgentTest, ModeThatTheAgentDidNotSetIsAnError) {
  std::string doc = Doc("default/hello");
  agent_.put_answer.set_mode(v1::MODE_LEARN);
  Result r = Ctl({"profile", "import", "--mode", "enforce", doc});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_THAT(r.err, HasSubstr("did not set mode enforce"));
}

TEST_F(CtlAgentTest, ImportWithNamespaceRefusesAnotherNamespacesDocumentBeforeSending) {
  std::string shop = Doc("shop/cart"), other = Doc("default/hello");
  Result r = Ctl({"profile", "import", "-n", "shop", shop, other});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("default/hello is not in namespace \"shop\""));
  EXPECT_THAT(agent_.puts, IsEmpty());
  EXPECT_EQ(Ctl({"profile", "import", "-n", "shop", shop}).code, kExitOk);
}

// --- version --------------------------------------------------------------------------------

TEST_F(CtlAgentTest, VersionNamesTheAgentsToo) {
  agent_.status.set_version("0.0.9");
  agent_.status.set_node("node-1");
  Result r = Ctl({"version"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, std::string("Client: faasguardctl ") + kVersion +
                       "\nAgent:  faasguard-agent 0.0.9 on node-1 (" + socket_ + ")\n");
  r = Ctl({"version", "-o", "json"});
  EXPECT_THAT(r.out, HasSubstr("\"0.0.9\""));
}

// --- errors in plain words ------------------------------------------------------------------

TEST_F(CtlAgentTest, AgentErrorsMapToExitCodes) {
  agent_.AddFunction("default/hello");
  agent_.fail_with = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "replicas running");
  Result r = Ctl({"profile", "delete", "default/hello"});
  EXPECT_EQ(r.code, kExitError);
  EXPECT_EQ(r.err, "faasguardctl: replicas running\n");
  agent_.fail_with = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad");
  EXPECT_EQ(Ctl({"status"}).code, kExitUsage);
  // UNAVAILABLE from the agent itself (not from the connection): said as it is.
  agent_.fail_with = grpc::Status(grpc::StatusCode::UNAVAILABLE, "kernel maps busy");
  r = Ctl({"status"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_THAT(r.err, HasSubstr("cannot reach the agent at " + socket_ + ": kernel maps busy"));
}

TEST_F(CtlAgentTest, AnAgentThatDoesNotAnswerTimesOut) {
  agent_.delay = std::chrono::milliseconds(2500);
  Result r = Ctl({"--timeout", "1s", "status"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_THAT(r.err, HasSubstr("did not answer within 1s (timed out)"));
  agent_.delay = std::chrono::milliseconds(0);
}

TEST(CtlUnreachableTest, ASocketNobodyListensOnIsConnectionRefused) {
  TempDir dir;
  std::string path = dir.Sub("stale.sock");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);  // the file stays: an agent that died
  Result r = CtlAt(path, {"functions"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_EQ(r.err, "faasguardctl: connection refused at " + path +
                       ": the agent is not running (the socket is left from an earlier run; "
                       "start faasguard-agent)\n");
}

TEST(CtlUnreachableTest, AFileThatIsNoSocket) {
  TempDir dir;
  std::ofstream(dir.Sub("plain")) << "x";
  Result r = CtlAt(dir.Sub("plain"), {"status"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_THAT(r.err, HasSubstr(dir.Sub("plain") + " is not a socket: give the agent's socket"));
}

TEST(CtlUnreachableTest, NoSocketMeansTheAgentIsNotRunning) {
  TempDir dir;
  Result r = CtlAt(dir.Sub("none.sock"), {"status"});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_EQ(r.err, "faasguardctl: the agent is not running (no socket at " + dir.Sub("none.sock") +
                       "; start faasguard-agent, or give its socket with --socket)\n");
}

// gRPC's own messages for what the tests cannot stage without root or a TLS agent (the e2e
// tests stage them for real), as gRPC 1.51 words them.
TEST(CtlUnreachableTest, TransportFailuresInPlainWords) {
  Target unix_socket;
  unix_socket.socket = "/run/fg.sock";
  Target tls;
  tls.server = "10.0.0.1:7443";
  tls.tls_cert = "c.pem";
  tls.tls_key = "c.key";
  tls.tls_ca = "ca.pem";
  Target plain = tls;
  plain.insecure = true;
  auto explain = [](const Target& t, const std::string& msg, const std::string& log = "") {
    CallError e = ExplainCallError(t, grpc::Status(grpc::StatusCode::UNAVAILABLE, msg), log);
    EXPECT_EQ(e.code, kExitUnavailable) << msg;
    return e.message;
  };
  const std::string prefix = "failed to connect to all addresses; last error: ";
  EXPECT_EQ(explain(unix_socket, prefix + "UNKNOWN: unix:/run/fg.sock: Permission denied"),
            "permission denied on /run/fg.sock: run as root (the agent's socket is root's only)");
  EXPECT_THAT(explain(unix_socket, prefix + "UNAVAILABLE: unix:/run/fg.sock: Broken pipe"),
              HasSubstr("closed the connection: it serves root only (run as root)"));
  EXPECT_EQ(explain(tls, prefix + "UNKNOWN: ipv4:10.0.0.1:7443: Failed to connect to remote host: "
                                  "Connection refused"),
            "connection refused at 10.0.0.1:7443: no agent listens there (faasguard-agent "
            "--listen-tcp)");
  EXPECT_THAT(explain(tls, prefix + "UNKNOWN: ipv4:10.0.0.1:7443: Ssl handshake failed: "
                                    "SSL_ERROR_SSL: error:0A000086:SSL routines::certificate "
                                    "verify failed"),
              HasSubstr("TLS handshake with 10.0.0.1:7443 failed: the agent's certificate is not "
                        "signed by --tls-ca ca.pem"));
  EXPECT_THAT(explain(tls, prefix + "UNAVAILABLE: ipv4:10.0.0.1:7443: Socket closed"),
              HasSubstr("refused the TLS handshake: this client's certificate (--tls-cert c.pem) "
                        "is not signed by the agent's --tls-client-ca"));
  EXPECT_THAT(explain(plain, prefix + "UNAVAILABLE: ipv4:10.0.0.1:7443: Socket closed"),
              HasSubstr("it may require TLS"));
  EXPECT_EQ(explain(tls, "empty address list: ", "Invalid private key."),
            "TLS: cannot use this client's certificate or key (--tls-cert c.pem, --tls-key "
            "c.key): Invalid private key.");
  EXPECT_EQ(explain(tls, "DNS resolution failed for nosuch:1: C-ares status is not ARES_SUCCESS"),
            "cannot resolve the host of --server 10.0.0.1:7443");
  CallError e =
      ExplainCallError(unix_socket, grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline"));
  EXPECT_EQ(e.code, kExitUnavailable);
  EXPECT_THAT(e.message, HasSubstr("did not answer within 30s (timed out)"));
  EXPECT_EQ(ExplainCallError(unix_socket, grpc::Status(grpc::StatusCode::NOT_FOUND, "no x")).code,
            kExitNotFound);
}

TEST(CtlUnreachableTest, UnreadableTlsFilesAreAUsageError) {
  Result r =
      CtlAt("/unused", {"--server", "127.0.0.1:1", "--tls-cert", "/nonexistent/c.pem", "--tls-key",
                        "/nonexistent/c.key", "--tls-ca", "/nonexistent/ca", "status"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("cannot read --tls-ca /nonexistent/ca"));
}

}  // namespace
}  // namespace faasguard
