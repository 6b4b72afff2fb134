// bpf (root): the DNS programs (bpf/dns.bpf.c) loaded, and crafted packets run through them
// with BPF_PROG_TEST_RUN, as the kernel would hand them over: queries leaving a function's
// socket (cgroup_skb/egress) and answers arriving for it (cgroup_skb/ingress). What must hold:
// a query is learned, checked or dropped by its name; an answer binds its addresses only when
// it answers a query this function sent to where it came from; hostile and malformed packets
// never bind anything they do not say and never hang; full maps are counted.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/strings/str_cat.h"
#include "bpf/events.h"
#include "cgroup/cgroup.h"
#include "dns/dns_message.h"
#include "fg_bpf.skel.h"
#include "gtest/gtest.h"
#include "support/dns_wire.h"
#include "support/root_harness.h"

// clang-format off
#include "abi/fg_dns.h"
// clang-format on

namespace faasguard {
namespace {

using testing::DnsMsg;
using testing::Packet;
using testing::V4;

constexpr uint64_t kSeed = 0x5eed;
constexpr char kServer[] = "127.0.0.53";
constexpr char kClient[] = "127.0.0.1";
constexpr uint16_t kClientPort = 40000;
constexpr uint16_t kResponse = 0x8180;
constexpr uint16_t kA = FG_DNS_TYPE_A, kAaaa = FG_DNS_TYPE_AAAA;

uint64_t H(const std::string& name) {
  auto h = HashDnsName(name, kSeed);
  EXPECT_TRUE(h.has_value()) << name;
  return h ? h->hash : 0;
}

uint64_t MonoNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The test process in a fresh cgroup of its own (the programs find the function from the
// socket's cgroup: BPF_PROG_TEST_RUN's socket belongs to the caller's).
class InCgroup {
 public:
  explicit InCgroup(const std::string& name) : cg_(name) {
    auto orig = CgroupOfPid(::getpid());
    if (orig.ok()) orig_ = testing::Cgroup2Mount() + *orig;
    EXPECT_TRUE(MoveToCgroup(cg_.path(), ::getpid()).ok());
  }
  ~InCgroup() { (void)MoveToCgroup(orig_, ::getpid()); }
  uint64_t id() const { return cg_.id(); }

 private:
  testing::TestCgroup cg_;
  std::string orig_;
};

class DnsProgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_ROOT();
    skel_ = fg_bpf__open();
    ASSERT_NE(skel_, nullptr);
    skel_->rodata->fg_hash_seed = kSeed;
    bpf_program__set_autoload(skel_->progs.fg_mark_tasks, false);
    bpf_program__set_autoload(skel_->progs.fg_sys_enter, false);
    ASSERT_EQ(bpf_map__set_max_entries(skel_->maps.fg_events, 1 << 16), 0);
    ASSERT_EQ(bpf_map__set_max_entries(skel_->maps.fg_dns_binds, bind_entries_), 0);
    ASSERT_EQ(fg_bpf__load(skel_), 0) << "the verifier refused a program";
    rb_ =
        ring_buffer__new(bpf_map__fd(skel_->maps.fg_events), &DnsProgTest::OnEvent, this, nullptr);
    ASSERT_NE(rb_, nullptr);
  }

  void TearDown() override {
    if (rb_) ring_buffer__free(rb_);
    if (skel_) fg_bpf__destroy(skel_);
  }

  static int OnEvent(void* ctx, void* data, size_t size) {
    auto ev = DecodeEvent(data, size);
    EXPECT_TRUE(ev.ok()) << ev.status();
    if (ev.ok()) static_cast<DnsProgTest*>(ctx)->events_.push_back(*ev);
    return 0;
  }

  std::vector<Event> Consume() {
    events_.clear();
    ring_buffer__consume(rb_);
    return events_;
  }

  template <typename T>
  std::vector<T> EventsOf() {
    std::vector<T> out;
    for (auto& e : Consume())
      if (auto* x = std::get_if<T>(&e)) out.push_back(*x);
    return out;
  }

  void Track(uint64_t cgid, uint32_t fn_id) {
    fg_cgroup_val v{fn_id, 0};
    ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_tracked, &cgid, sizeof cgid, &v, sizeof v, 0), 0);
  }

  void SetMode(uint32_t fn_id, uint8_t mode, uint8_t flags = 0) {
    fg_fn_cfg cfg{};
    cfg.mode = mode;
    cfg.gen = 1;
    cfg.flags = flags;
    ASSERT_EQ(
        bpf_map__update_elem(skel_->maps.fg_fn_cfg, &fn_id, sizeof fn_id, &cfg, sizeof cfg, 0), 0);
  }

  // A query rule for `name` ("*.x" for a wildcard) in generation 1 of a slot.
  void AllowQuery(uint32_t fn_id, const std::string& name) {
    fg_dns_rule_key k{};
    k.fn_id = fn_id;
    k.gen = 1;
    k.kind = FG_DNS_RULE_QUERY;
    if (name.rfind("*.", 0) == 0) {
      k.kind |= FG_DNS_RULE_WILDCARD;
      k.hash = H(name.substr(2));
    } else {
      k.hash = H(name);
    }
    uint8_t one = 1;
    ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_dns_allow, &k, sizeof k, &one, 1, 0), 0);
  }

  // Run a program over a packet; its verdict (1 passes, 0 drops).
  int Run(bpf_program* prog, const std::string& pkt) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt.data(),
                .data_size_in = static_cast<__u32>(pkt.size()));
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0) << std::strerror(errno);
    return static_cast<int>(opts.retval);
  }

  // A query from the function (kClient:kClientPort) to the server over UDP.
  int Query(const std::string& msg, const std::string& server = kServer,
            const std::string& client = kClient, uint16_t cport = kClientPort) {
    return Run(skel_->progs.fg_dns_query, Packet::Ip(Packet::kUdp, client, cport, server, 53, msg));
  }
  // An answer from the server to the function over UDP.
  int Answer(const std::string& msg, const std::string& server = kServer,
             const std::string& client = kClient, uint16_t cport = kClientPort,
             uint16_t sport = 53) {
    return Run(skel_->progs.fg_dns_answer,
               Packet::Ip(Packet::kUdp, server, sport, client, cport, msg));
  }

  // The names an address is bound to for a slot (most recent first), unexpired or not.
  std::vector<fg_dns_bound> Bound(uint32_t fn_id, const std::string& addr) {
    fg_dns_bind_key k{};
    k.fn_id = fn_id;
    std::string b = testing::AddrBytes(addr);
    k.family = b.size() == 4 ? 4 : 6;
    std::memcpy(k.addr, b.data(), b.size());
    fg_dns_bind_val v{};
    std::vector<fg_dns_bound> out;
    if (bpf_map__lookup_elem(skel_->maps.fg_dns_binds, &k, sizeof k, &v, sizeof v, 0) != 0)
      return out;
    for (const auto& n : v.names)
      if (n.expires_ns) out.push_back(n);
    return out;
  }

  size_t BindCount() {
    size_t n = 0;
    fg_dns_bind_key k{}, next{};
    const void* prev = nullptr;
    while (bpf_map__get_next_key(skel_->maps.fg_dns_binds, prev, &next, sizeof next) == 0) {
      ++n;
      k = next;
      prev = &k;
    }
    return n;
  }

  std::optional<fg_seen_val> Queried(uint32_t fn_id, const std::string& name, uint16_t qtype,
                                     uint8_t what = FG_DNS_SEEN_QUERY) {
    fg_dns_query_key k{};
    k.fn_id = fn_id;
    k.qtype = qtype;
    k.what = what;
    k.hash = H(name);
    fg_seen_val v{};
    if (bpf_map__lookup_elem(skel_->maps.fg_dns_queries, &k, sizeof k, &v, sizeof v, 0) != 0)
      return std::nullopt;
    return v;
  }

  uint64_t Stat(uint32_t idx) {
    int ncpu = libbpf_num_possible_cpus();
    std::vector<uint64_t> v(static_cast<size_t>(ncpu));
    EXPECT_EQ(bpf_map__lookup_elem(skel_->maps.fg_stats, &idx, sizeof idx, v.data(),
                                   v.size() * sizeof(uint64_t), 0),
              0);
    uint64_t sum = 0;
    for (uint64_t x : v) sum += x;
    return sum;
  }

  fg_bpf* skel_ = nullptr;
  ring_buffer* rb_ = nullptr;
  std::vector<Event> events_;
  uint32_t bind_entries_ = 8192;
};

std::string AnswerA(uint16_t id, const std::string& name,
                    std::vector<std::pair<std::string, uint32_t>> addrs,
                    uint16_t flags = kResponse) {
  DnsMsg m;
  m.Header(id, flags, 1, static_cast<uint16_t>(addrs.size())).Name(name).Question(kA);
  for (const auto& [a, ttl] : addrs) m.Pointer(12).Rr(kA, ttl, testing::AddrBytes(a));
  return m.str();
}

TEST_F(DnsProgTest, AQueryIsLearnedAndItsAnswerBindsTheAddressesBeforeAnyoneReadsThem) {
  InCgroup cg("dns-learn");
  Track(cg.id(), 3);
  EXPECT_EQ(Query(DnsMsg::Query(7, "API.Example.com", kA)), 1);
  auto q = Queried(3, "api.example.com", kA);
  ASSERT_TRUE(q) << "the query is in the function's learned set";
  EXPECT_EQ(q->count, 1u);
  auto evs = EventsOf<DnsEvent>();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].what, FG_DNS_SEEN_QUERY);
  EXPECT_EQ(evs[0].name, "api.example.com");
  EXPECT_EQ(evs[0].hash, H("api.example.com"));
  EXPECT_EQ(evs[0].qtype, kA);
  EXPECT_EQ(evs[0].hdr.fn_id, 3u);

  uint64_t before = MonoNs();
  EXPECT_EQ(Answer(AnswerA(7, "api.example.com", {{"127.1.2.3", 60}, {"127.1.2.4", 5}})), 1);
  auto b = Bound(3, "127.1.2.3");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].hash, H("api.example.com"));
  EXPECT_EQ(b[0].depth, 3u);
  EXPECT_EQ(b[0].parents[1], H("example.com"));
  EXPECT_GE(b[0].expires_ns, before + 60'000'000'000ull + FG_DNS_GRACE_NS);
  EXPECT_LE(b[0].expires_ns, MonoNs() + 60'000'000'000ull + FG_DNS_GRACE_NS);
  auto b2 = Bound(3, "127.1.2.4");
  ASSERT_EQ(b2.size(), 1u);
  EXPECT_LE(b2[0].expires_ns, MonoNs() + 5'000'000'000ull + FG_DNS_GRACE_NS);
  EXPECT_TRUE(Bound(4, "127.1.2.3").empty()) << "bound for this function only";
  // The query is answered: the same answer again binds nothing new (it answers nothing).
  EXPECT_EQ(Answer(AnswerA(7, "api.example.com", {{"127.6.6.6", 60}})), 1);
  EXPECT_TRUE(Bound(3, "127.6.6.6").empty());
  EXPECT_EQ(Stat(FG_STAT_DNS_UNMATCHED), 1u);
}

TEST_F(DnsProgTest, AnAnswerToNoQueryOfThisFlowBindsNothing) {
  InCgroup cg("dns-unmatched");
  Track(cg.id(), 1);
  const std::string name = "api.example.com";
  // Nothing asked at all.
  Answer(AnswerA(1, name, {{"127.7.0.1", 60}}));
  // Asked, but the answer comes from another server, another port of it, to another port of
  // the function, with another id, for another question, or another type.
  Query(DnsMsg::Query(2, name));
  Answer(AnswerA(2, name, {{"127.7.0.2", 60}}), "127.0.0.54");
  Answer(AnswerA(2, name, {{"127.7.0.3", 60}}), kServer, kClient, kClientPort, 5353);
  Answer(AnswerA(2, name, {{"127.7.0.4", 60}}), kServer, kClient, kClientPort + 1);
  Answer(AnswerA(3, name, {{"127.7.0.5", 60}}));
  Answer(AnswerA(2, "evil.example.com", {{"127.7.0.6", 60}}));
  DnsMsg aaaa;
  aaaa.Header(2, kResponse, 1, 1)
      .Name(name)
      .Question(kAaaa)
      .Pointer(12)
      .Rr(kA, 60, V4(127, 7, 0, 7));
  Answer(aaaa.str());
  // A "query" sent to the function from port 53 is not an answer either.
  Answer(DnsMsg::Query(2, name));
  EXPECT_EQ(BindCount(), 0u);
  EXPECT_EQ(Stat(FG_STAT_DNS_UNMATCHED), 6u) << "from port 5353: not DNS to this program";
  EXPECT_EQ(Stat(FG_STAT_DNS_UNPARSED), 1u) << "the query from port 53";
  // The real answer still binds.
  Answer(AnswerA(2, name, {{"127.7.0.8", 60}}));
  EXPECT_EQ(Bound(1, "127.7.0.8").size(), 1u);
}

TEST_F(DnsProgTest, FunctionBCannotUseFunctionAsResolution) {
  InCgroup a("dns-fn-a");
  Track(a.id(), 1);
  Query(DnsMsg::Query(9, "api.example.com"));
  {
    // The answer reaches a socket of function B (another cgroup), same ports and id.
    InCgroup b("dns-fn-b");
    Track(b.id(), 2);
    Answer(AnswerA(9, "api.example.com", {{"127.8.0.1", 60}}));
  }
  EXPECT_TRUE(Bound(2, "127.8.0.1").empty());
  EXPECT_TRUE(Bound(1, "127.8.0.1").empty());
  Answer(AnswerA(9, "api.example.com", {{"127.8.0.1", 60}}));
  EXPECT_EQ(Bound(1, "127.8.0.1").size(), 1u);
  EXPECT_TRUE(Bound(2, "127.8.0.1").empty());
}

TEST_F(DnsProgTest, UntrackedSocketsAndOtherTrafficPass) {
  InCgroup cg("dns-untracked");  // not tracked
  EXPECT_EQ(Query(DnsMsg::Query(1, "x.example.com")), 1);
  EXPECT_EQ(Answer(AnswerA(1, "x.example.com", {{"127.9.0.1", 60}})), 1);
  Track(cg.id(), 1);
  SetMode(1, FG_MODE_ENFORCE);
  // Not port 53: never looked at, whatever it holds.
  EXPECT_EQ(Run(skel_->progs.fg_dns_query,
                Packet::Ip(Packet::kUdp, kClient, 1000, kServer, 54, "garbage")),
            1);
  EXPECT_EQ(Run(skel_->progs.fg_dns_query,
                Packet::Ip(Packet::kTcp, kClient, 53, kServer, 1000, "garbage")),
            1);
  EXPECT_EQ(BindCount(), 0u);
  EXPECT_EQ(Stat(FG_STAT_DNS_UNPARSED), 0u);
  EXPECT_TRUE(Consume().empty());
}

TEST_F(DnsProgTest, EnforceDropsAQueryForANameOutsideTheProfileAndReportsIt) {
  InCgroup cg("dns-enforce");
  Track(cg.id(), 5);
  SetMode(5, FG_MODE_ENFORCE, FG_CFG_F_DNS_WILDCARD);
  AllowQuery(5, "api.example.com");
  AllowQuery(5, "*.svc.cluster.local");
  EXPECT_EQ(Query(DnsMsg::Query(1, "api.example.com")), 1);
  EXPECT_EQ(Query(DnsMsg::Query(2, "API.EXAMPLE.COM", kAaaa)), 1) << "any type, any case";
  EXPECT_EQ(Query(DnsMsg::Query(3, "db.prod.svc.cluster.local")), 1) << "a subdomain";
  EXPECT_TRUE(Consume().empty());
  EXPECT_EQ(Query(DnsMsg::Query(4, "svc.cluster.local")), 0) << "the wildcard's own name";
  EXPECT_EQ(Query(DnsMsg::Query(5, "c2VjcmV0.attacker.example")), 0);
  EXPECT_EQ(Query(DnsMsg::Query(6, "example.com")), 0) << "a parent of an exact name";
  auto v = EventsOf<ViolationEvent>();
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[1].kind, FG_VIOL_DNS_QUERY);
  EXPECT_EQ(v[1].action, FG_ACT_DENIED);
  EXPECT_EQ(v[1].item, "c2vjcmv0.attacker.example") << "the name, lowercased";
  EXPECT_EQ(v[1].item_hash, H("c2VjcmV0.attacker.example"));
  EXPECT_EQ(v[1].item_flags, FG_VIOL_ITEM_DNS_NAME);
  EXPECT_EQ(v[1].nr, kA) << "the query type";
  EXPECT_EQ(v[1].net.port, 53);
  EXPECT_EQ(v[1].net.family, 4);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v[1].net.addr), 4),
            testing::AddrBytes(kServer));
  EXPECT_EQ(v[1].hdr.fn_id, 5u);
  // A dropped query is not waited for: its answer (forged) binds nothing.
  Answer(AnswerA(5, "c2VjcmV0.attacker.example", {{"127.10.0.1", 60}}));
  EXPECT_TRUE(Bound(5, "127.10.0.1").empty());
  // Monitor mode reports and lets it go.
  SetMode(5, FG_MODE_MONITOR);
  EXPECT_EQ(Query(DnsMsg::Query(7, "other.example.net")), 1);
  v = EventsOf<ViolationEvent>();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action, FG_ACT_REPORTED);
  EXPECT_EQ(v[0].item, "other.example.net");
  EXPECT_FALSE(Queried(5, "other.example.net", kA)) << "monitor mode learns nothing";
}

TEST_F(DnsProgTest, PacketsToPort53ThatCannotBeParsedAreDroppedInEnforceOnly) {
  InCgroup cg("dns-unparsed");
  Track(cg.id(), 6);
  AllowQuery(6, "api.example.com");
  const std::string ok = DnsMsg::Query(1, "api.example.com");
  std::string opt(11, '\0');  // an EDNS OPT record (root owner, type 41)
  opt[2] = 41;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"garbage", "not dns at all"},
      {"short", ok.substr(0, 20)},
      {"a response", DnsMsg().Header(1, kResponse, 1, 0).Name("api.example.com").Question().str()},
      {"answers in a query (tunnel)", DnsMsg()
                                          .Header(1, 0x0100, 1, 1)
                                          .Name("api.example.com")
                                          .Question()
                                          .Pointer(12)
                                          .Rr(16, 0, std::string(100, 'x'))
                                          .str()},
      {"two additional records", DnsMsg()
                                     .Header(1, 0x0100, 1, 0, 0, 2)
                                     .Name("api.example.com")
                                     .Question()
                                     .Raw(opt)
                                     .Raw(opt)
                                     .str()},
      {"bytes after the question (tunnel)", ok + opt + std::string(200, 'x')},
      {"two questions", DnsMsg()
                            .Header(1, 0x0100, 2, 0)
                            .Name("api.example.com")
                            .Question()
                            .Name("b.com")
                            .Question()
                            .str()},
      {"an update", DnsMsg().Header(1, 0x2800, 1, 0).Name("api.example.com").Question().str()},
  };
  for (const auto& [what, msg] : bad) EXPECT_EQ(Query(msg), 1) << "learn mode passes " << what;
  const std::vector<std::pair<std::string, std::string>> bad_packets = {
      {"an IPv4 fragment", Packet::Ip(Packet::kUdp, kClient, 1000, kServer, 53, ok, "", 0, 0x2000)},
      {"a later IPv4 fragment",
       Packet::Ip(Packet::kUdp, kClient, 1000, kServer, 53, ok, "", 0, 0x0010)},
      {"TCP: a message cut short", Packet::Ip(Packet::kTcp, kClient, 1000, kServer, 53,
                                              Packet::TcpMessages({ok}).substr(0, 20))},
      {"TCP: a length past the segment",
       Packet::Ip(Packet::kTcp, kClient, 1000, kServer, 53, std::string("\x10\x00", 2) + ok)},
      {"TCP: a whole message and a cut one",
       Packet::Ip(Packet::kTcp, kClient, 1000, kServer, 53,
                  Packet::TcpMessages({ok, ok}).substr(0, 2 * ok.size() + 2))},
  };
  for (const auto& [what, pkt] : bad_packets)
    EXPECT_EQ(Run(skel_->progs.fg_dns_query, pkt), 1) << "learn mode passes " << what;
  // Nine IPv6 destination-options headers: more than the program walks.
  std::string ext;
  for (int i = 0; i < 9; ++i) ext += std::string{i == 8 ? char(17) : char(60), 0, 0, 0, 0, 0, 0, 0};
  const std::string deep = Packet::Ip(Packet::kUdp, "::1", 1000, "::53", 53, ok, ext, 60);
  EXPECT_EQ(Run(skel_->progs.fg_dns_query, deep), 1);
  EXPECT_TRUE(EventsOf<ViolationEvent>().empty());

  SetMode(6, FG_MODE_ENFORCE);
  for (const auto& [what, msg] : bad) EXPECT_EQ(Query(msg), 0) << "enforce drops " << what;
  for (const auto& [what, pkt] : bad_packets)
    EXPECT_EQ(Run(skel_->progs.fg_dns_query, pkt), 0) << "enforce drops " << what;
  EXPECT_EQ(Run(skel_->progs.fg_dns_query, deep), 0) << "enforce drops unwalked headers";
  auto v = EventsOf<ViolationEvent>();
  EXPECT_EQ(v.size(), bad.size() + bad_packets.size() + 1);
  for (const auto& e : v) {
    EXPECT_EQ(e.kind, FG_VIOL_DNS_QUERY);
    EXPECT_EQ(e.action, FG_ACT_DENIED);
  }
  // What is well formed still goes: one EDNS record, a few extension headers, TCP segments
  // holding whole messages.
  EXPECT_EQ(
      Query(
          DnsMsg().Header(1, 0x0100, 1, 0, 0, 1).Name("api.example.com").Question().Raw(opt).str()),
      1);
  const std::string one_ext = {17, 0, 0, 0, 0, 0, 0, 0};  // destination options, then UDP
  EXPECT_EQ(Run(skel_->progs.fg_dns_query,
                Packet::Ip(Packet::kUdp, "::1", 1000, "::53", 53, ok, one_ext, 60)),
            1);
  EXPECT_EQ(Run(skel_->progs.fg_dns_query, Packet::Ip(Packet::kTcp, kClient, 1000, kServer, 53,
                                                      Packet::TcpMessages({ok, ok}))),
            1);
  EXPECT_EQ(
      Run(skel_->progs.fg_dns_query, Packet::Ip(Packet::kTcp, kClient, 1000, kServer, 53, "")), 1)
      << "a segment without data (handshake)";
  EXPECT_TRUE(EventsOf<ViolationEvent>().empty());
}

TEST_F(DnsProgTest, TcpAndIpv6AnswersBindToo) {
  InCgroup cg("dns-tcp6");
  Track(cg.id(), 2);
  // Two queries in one TCP segment, both answered in one segment.
  const std::string qa = DnsMsg::Query(11, "tcp.example.com", kA);
  const std::string qaaaa = DnsMsg::Query(12, "tcp.example.com", kAaaa);
  EXPECT_EQ(Run(skel_->progs.fg_dns_query, Packet::Ip(Packet::kTcp, kClient, 41000, kServer, 53,
                                                      Packet::TcpMessages({qa, qaaaa}))),
            1);
  DnsMsg aaaa;
  aaaa.Header(12, kResponse, 1, 1).Name("tcp.example.com").Question(kAaaa);
  aaaa.Pointer(12).Rr(kAaaa, 30, testing::AddrBytes("fd00::7"));
  EXPECT_EQ(
      Run(skel_->progs.fg_dns_answer,
          Packet::Ip(Packet::kTcp, kServer, 53, kClient, 41000,
                     Packet::TcpMessages(
                         {AnswerA(11, "tcp.example.com", {{"127.11.0.1", 30}}), aaaa.str()}))),
      1);
  EXPECT_EQ(Bound(2, "127.11.0.1").size(), 1u);
  EXPECT_EQ(Bound(2, "fd00::7").size(), 1u);
  // IPv6 transport.
  Query(DnsMsg::Query(13, "six.example.com", kAaaa), "fd00::53", "fd00::1");
  DnsMsg six;
  six.Header(13, kResponse, 1, 1).Name("six.example.com").Question(kAaaa);
  six.Pointer(12).Rr(kAaaa, 30, testing::AddrBytes("fd00::8"));
  Answer(six.str(), "fd00::53", "fd00::1");
  auto b = Bound(2, "fd00::8");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].hash, H("six.example.com"));
}

TEST_F(DnsProgTest, CnameChainsBindToTheNameAskedAndAnAddressKeepsSeveralNames) {
  InCgroup cg("dns-cname");
  Track(cg.id(), 4);
  Query(DnsMsg::Query(21, "www.example.com"));
  DnsMsg m;
  m.Header(21, kResponse, 1, 3).Name("www.example.com").Question();
  const uint16_t target = static_cast<uint16_t>(m.size() + 12);
  m.Pointer(12).Rr(FG_DNS_TYPE_CNAME, 300, DnsMsg().Name("edge.cdn.net").str());
  m.Pointer(target).Rr(kA, 20, V4(127, 12, 0, 1));
  m.Name("evil.example.org").Rr(kA, 20, V4(127, 12, 0, 2));  // outside the chain
  Answer(m.str());
  auto b = Bound(4, "127.12.0.1");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].hash, H("www.example.com")) << "the name the function asked for";
  EXPECT_TRUE(Bound(4, "127.12.0.2").empty());
  // Another name answering with the same address (a CDN): both are kept, the newest first.
  Query(DnsMsg::Query(22, "img.example.com"));
  Answer(AnswerA(22, "img.example.com", {{"127.12.0.1", 60}}));
  b = Bound(4, "127.12.0.1");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].hash, H("img.example.com"));
  EXPECT_EQ(b[1].hash, H("www.example.com"));
  // The first name again: it moves to the front, no duplicate.
  Query(DnsMsg::Query(23, "www.example.com"));
  Answer(AnswerA(23, "www.example.com", {{"127.12.0.1", 60}}));
  b = Bound(4, "127.12.0.1");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].hash, H("www.example.com"));
}

TEST_F(DnsProgTest, NxdomainAnswersAreLearnedWithTheirQuestion) {
  InCgroup cg("dns-nx");
  Track(cg.id(), 7);
  Query(DnsMsg::Query(31, "api.example.com.svc.cluster.local"));
  Consume();
  Answer(
      DnsMsg().Header(31, 0x8183, 1, 0).Name("api.example.com.svc.cluster.local").Question().str());
  EXPECT_TRUE(Queried(7, "api.example.com.svc.cluster.local", kA, FG_DNS_SEEN_NXDOMAIN));
  auto evs = EventsOf<DnsEvent>();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].what, FG_DNS_SEEN_NXDOMAIN);
  EXPECT_EQ(evs[0].name, "api.example.com.svc.cluster.local");
  EXPECT_EQ(BindCount(), 0u);
}

// Hostile answers to a real query: each binds exactly what the user-space run of the same
// parser binds (tests/unit/dns_message_test.cc says what that is), and never hangs.
TEST_F(DnsProgTest, HostileAnswersBindNoMoreThanTheyProperlySay) {
  InCgroup cg("dns-hostile");
  Track(cg.id(), 8);
  const std::string name = "api.example.com";
  std::vector<std::pair<std::string, std::string>> cases;
  {
    DnsMsg loop;  // the question's name points at itself
    loop.Header(0, kResponse, 1, 1)
        .Pointer(12)
        .Question()
        .Pointer(12)
        .Rr(kA, 60, V4(127, 13, 0, 1));
    cases.push_back({"pointer loop", loop.str()});
  }
  {
    DnsMsg fwd;
    fwd.Header(0, kResponse, 1, 1).Name(name).Question();
    fwd.Pointer(static_cast<uint16_t>(fwd.size() + 2)).Rr(kA, 60, V4(127, 13, 0, 2));
    cases.push_back({"forward pointer", fwd.str()});
  }
  {
    DnsMsg past;
    past.Header(0, kResponse, 1, 1).Name(name).Question().Raw(std::string(1, '\x3f') + "abc");
    cases.push_back({"label past the packet", past.str()});
  }
  {
    DnsMsg lie;  // 65535 answers claimed, 100 there: the first 16 are bound, no more
    lie.Header(0, kResponse, 1, 0xffff).Name(name).Question();
    for (int i = 0; i < 100; ++i)
      lie.Pointer(12).Rr(kA, 60, V4(127, 14, 0, static_cast<uint8_t>(i)));
    cases.push_back({"huge count", lie.str()});
  }
  {
    DnsMsg cut;
    cut.Header(0, kResponse, 1, 2).Name(name).Question().Pointer(12).Rr(kA, 60, V4(127, 15, 0, 1));
    cut.Pointer(12).Rr(kA, 60, V4(127, 15, 0, 2));
    cases.push_back({"truncated record", cut.str().substr(0, cut.size() - 2)});
  }
  {
    DnsMsg rdlen;
    rdlen.Header(0, kResponse, 1, 1)
        .Name(name)
        .Question()
        .Pointer(12)
        .Rr(kA, 60, V4(127, 16, 0, 1) + "x");
    cases.push_back({"A record of 5 bytes", rdlen.str()});
  }
  {
    DnsMsg mix;
    mix.Header(0, kResponse, 1, 1)
        .Name("aPi.ExAmple.COM")
        .Question()
        .Name("API.example.com")
        .Rr(kA, 60, V4(127, 17, 0, 1));
    cases.push_back({"0x20 case mixing", mix.str()});
  }
  {
    DnsMsg dot;  // "com.example.api" as one label must not pass for api.example.com
    dot.Header(0, kResponse, 1, 1).Label("api.example.com").Raw(std::string(1, '\0')).Question();
    dot.Pointer(12).Rr(kA, 60, V4(127, 18, 0, 1));
    cases.push_back({"dot in a label", dot.str()});
  }
  uint16_t id = 100;
  size_t total = 0;
  for (auto& [what, msg] : cases) {
    ++id;
    msg[0] = static_cast<char>(id >> 8), msg[1] = static_cast<char>(id);
    // The query the function sent (for "dot in a label": the name the attacker wants bound).
    ParsedDns parsed = ParseDnsMessage(msg, kSeed);
    Query(DnsMsg::Query(id, what == "0x20 case mixing" ? "api.example.com" : name));
    EXPECT_EQ(Answer(msg), 1) << what;
    size_t bound = 0;
    for (const auto& a : parsed.addrs) {
      char text[64];
      inet_ntop(AF_INET, a.addr.data(), text, sizeof text);
      auto b = Bound(8, text);
      ASSERT_EQ(b.size(), 1u) << what << " " << text;
      EXPECT_EQ(b[0].hash, H(name)) << what;
      ++bound;
    }
    EXPECT_EQ(BindCount(), total + bound) << what;
    total += bound;
    if (what == "huge count") {
      EXPECT_EQ(bound, static_cast<size_t>(FG_DNS_ADDRS));
    } else if (what == "0x20 case mixing" || what == "truncated record") {
      EXPECT_EQ(bound, 1u) << what;
    } else if (what != "label past the packet") {
      EXPECT_EQ(bound, 0u) << what;
    }
  }
}

TEST_F(DnsProgTest, AFullBindingMapIsCounted) {
  TearDown();
  skel_ = nullptr;
  rb_ = nullptr;
  bind_entries_ = 2;
  SetUp();
  InCgroup cg("dns-full");
  Track(cg.id(), 9);
  Query(DnsMsg::Query(1, "many.example.com"));
  Answer(AnswerA(1, "many.example.com",
                 {{"127.19.0.1", 60}, {"127.19.0.2", 60}, {"127.19.0.3", 60}, {"127.19.0.4", 60}}));
  EXPECT_EQ(BindCount(), 2u);
  EXPECT_EQ(Stat(FG_STAT_DNS_BIND_FULL), 2u);
}

}  // namespace
}  // namespace faasguard
