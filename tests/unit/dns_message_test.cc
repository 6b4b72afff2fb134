// The kernel's DNS parser (bpf/abi/fg_dns.h), run in user space on crafted messages: what it
// binds, and what it refuses (pointer loops, labels past the end, counts that lie, truncated
// records, case mixing, huge counts). The same messages go through the real program with
// BPF_PROG_TEST_RUN in tests/bpf.
#include "dns/dns_message.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "support/dns_wire.h"

// clang-format off
#include "abi/fg_abi.h"
#include "abi/fg_dns.h"
// clang-format on

namespace faasguard {
namespace {

constexpr uint64_t kSeed = 0x1234;

using Msg = testing::DnsMsg;
using testing::V4;

uint64_t H(const std::string& name) {
  auto h = HashDnsName(name, kSeed);
  EXPECT_TRUE(h.has_value()) << name;
  return h ? h->hash : 0;
}

constexpr uint16_t kResponse = 0x8180;  // QR, RD, RA, NOERROR

TEST(DnsMessageTest, AnAnswerBindsItsAddressesToTheQuestion) {
  Msg m;
  m.Header(7, kResponse, 1, 2).Name("api.example.com").Question();
  m.Pointer(12).Rr(FG_DNS_TYPE_A, 60, V4(127, 1, 2, 3));
  m.Pointer(12).Rr(FG_DNS_TYPE_A, 30, V4(127, 1, 2, 4));
  ParsedDns p = ParseDnsMessage(m.str(), kSeed);
  EXPECT_EQ(p.err, FG_DNS_OK);
  EXPECT_TRUE(p.response);
  EXPECT_EQ(p.id, 7);
  EXPECT_EQ(p.name, "api.example.com");
  EXPECT_EQ(p.hash, H("api.example.com"));
  ASSERT_EQ(p.addrs.size(), 2u);
  EXPECT_EQ(p.addrs[0].addr, V4(127, 1, 2, 3));
  EXPECT_EQ(p.addrs[0].ttl, 60u);
  EXPECT_EQ(p.addrs[1].addr, V4(127, 1, 2, 4));
}

TEST(DnsMessageTest, AaaaRecords) {
  std::string v6(16, '\0');
  v6[15] = 1;
  Msg m;
  m.Header(1, kResponse, 1, 1).Name("v6.example.com").Question(FG_DNS_TYPE_AAAA);
  m.Pointer(12).Rr(FG_DNS_TYPE_AAAA, 10, v6);
  ParsedDns p = ParseDnsMessage(m.str(), kSeed);
  EXPECT_EQ(p.qtype, FG_DNS_TYPE_AAAA);
  ASSERT_EQ(p.addrs.size(), 1u);
  EXPECT_EQ(p.addrs[0].family, 6);
  EXPECT_EQ(p.addrs[0].addr, v6);
}

TEST(DnsMessageTest, CnameChainsBindToTheNameAsked) {
  Msg m;
  m.Header(2, kResponse, 1, 3).Name("www.example.com").Question();
  const uint16_t cname_target = static_cast<uint16_t>(m.size() + 12);  // rdata of the CNAME
  m.Pointer(12).Rr(FG_DNS_TYPE_CNAME, 300, Msg().Name("edge.cdn.net").str());
  // The CNAME target's A record, its owner compressed to the CNAME's rdata.
  m.Pointer(cname_target).Rr(FG_DNS_TYPE_A, 20, V4(127, 9, 9, 9));
  // A record for a name outside the chain: never bound.
  m.Name("evil.example.org").Rr(FG_DNS_TYPE_A, 20, V4(127, 6, 6, 6));
  ParsedDns p = ParseDnsMessage(m.str(), kSeed);
  EXPECT_EQ(p.err, FG_DNS_OK);
  EXPECT_EQ(p.name, "www.example.com");
  ASSERT_EQ(p.addrs.size(), 1u);
  EXPECT_EQ(p.addrs[0].addr, V4(127, 9, 9, 9));
  EXPECT_EQ(p.skipped, 1u);
}

TEST(DnsMessageTest, CaseMixingIsTheSameName) {
  Msg m;
  m.Header(3, kResponse, 1, 1).Name("ApI.ExAmPlE.CoM").Question();
  m.Name("api.EXAMPLE.com").Rr(FG_DNS_TYPE_A, 5, V4(127, 0, 0, 9));
  ParsedDns p = ParseDnsMessage(m.str(), kSeed);
  EXPECT_EQ(p.name, "api.example.com");
  EXPECT_EQ(p.hash, H("API.example.COM."));
  EXPECT_EQ(p.addrs.size(), 1u);
}

TEST(DnsMessageTest, ParentsAreTheHashesOfTheParentDomains) {
  auto h = HashDnsName("a.b.example.com", kSeed);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->depth, 4u);
  ASSERT_EQ(h->parents.size(), 4u);
  EXPECT_EQ(h->parents[0], H("com"));
  EXPECT_EQ(h->parents[1], H("example.com"));
  EXPECT_EQ(h->parents[2], H("b.example.com"));
  EXPECT_EQ(h->parents[3], h->hash);
  Msg m;
  m.Header(1, 0x0100, 1, 0).Name("a.b.example.com").Question();
  ParsedDns p = ParseDnsMessage(m.str(), kSeed);
  EXPECT_FALSE(p.response);
  EXPECT_EQ(p.parents, h->parents);
  // A seed changes every hash.
  EXPECT_NE(HashDnsName("example.com", 1)->hash, HashDnsName("example.com", 2)->hash);
}

TEST(DnsMessageTest, NxdomainAnswersKeepTheirQuestion) {
  Msg m;
  m.Header(4, 0x8183, 1, 0).Name("nope.svc.cluster.local").Question();
  ParsedDns p = ParseDnsMessage(m.str(), kSeed);
  EXPECT_EQ(p.err, FG_DNS_OK);
  EXPECT_EQ(p.rcode, FG_DNS_RCODE_NXDOMAIN);
  EXPECT_EQ(p.name, "nope.svc.cluster.local");
  EXPECT_TRUE(p.addrs.empty());
}

TEST(DnsMessageTest, PointerLoopsAndForwardPointersAreRefused) {
  Msg self;  // the question's name points at itself
  self.Header(1, kResponse, 1, 0).Pointer(12).Question();
  EXPECT_EQ(ParseDnsMessage(self.str(), kSeed).err, FG_DNS_E_POINTER);
  Msg fwd;  // an answer owner pointing forward, into its own rdata
  fwd.Header(1, kResponse, 1, 1).Name("a.example.com").Question();
  fwd.Pointer(static_cast<uint16_t>(fwd.size() + 2)).Rr(FG_DNS_TYPE_A, 1, V4(127, 0, 0, 1));
  ParsedDns p = ParseDnsMessage(fwd.str(), kSeed);
  EXPECT_EQ(p.err, FG_DNS_E_POINTER);
  EXPECT_TRUE(p.addrs.empty());
  Msg two;  // two pointers pointing at each other (each backwards from where it is read)
  two.Header(1, kResponse, 1, 1).Name("a.example.com").Question();
  const uint16_t at = static_cast<uint16_t>(two.size());
  two.Pointer(static_cast<uint16_t>(at + 2)).Pointer(at).Rr(FG_DNS_TYPE_A, 1, V4(127, 0, 0, 1));
  EXPECT_EQ(ParseDnsMessage(two.str(), kSeed).err, FG_DNS_E_POINTER);
}

TEST(DnsMessageTest, TruncatedAndLyingMessagesBindNothingPastTheDamage) {
  Msg base;
  base.Header(1, kResponse, 1, 100).Name("api.example.com").Question();
  base.Pointer(12).Rr(FG_DNS_TYPE_A, 60, V4(127, 1, 1, 1));
  // ancount says 100: the one record there is bound, the parse stops at the end.
  ParsedDns p = ParseDnsMessage(base.str(), kSeed);
  EXPECT_EQ(p.err, FG_DNS_E_SHORT);
  EXPECT_EQ(p.addrs.size(), 1u);
  // A record cut in its rdata: not bound.
  Msg cut;
  cut.Header(1, kResponse, 1, 1).Name("api.example.com").Question();
  cut.Pointer(12).Rr(FG_DNS_TYPE_A, 60, V4(127, 1, 1, 1));
  std::string s = cut.str().substr(0, cut.size() - 2);
  p = ParseDnsMessage(s, kSeed);
  EXPECT_EQ(p.err, FG_DNS_E_SHORT);
  EXPECT_TRUE(p.addrs.empty());
  // A label running past the end.
  Msg label;
  label.Header(1, kResponse, 1, 0).Raw(std::string(1, '\x3f') + "abc");
  EXPECT_EQ(ParseDnsMessage(label.str(), kSeed).err, FG_DNS_E_SHORT);
  // Every prefix of a good message parses without harm.
  for (size_t n = 0; n < base.size(); ++n) {
    ParsedDns q = ParseDnsMessage(base.str().substr(0, n), kSeed);
    EXPECT_NE(q.err, FG_DNS_OK) << n;
    EXPECT_TRUE(q.addrs.empty()) << n;
  }
}

TEST(DnsMessageTest, WrongRecordLengthsAndReservedLabelsAreRefused) {
  Msg len;
  len.Header(1, kResponse, 1, 1).Name("api.example.com").Question();
  len.Pointer(12).Rr(FG_DNS_TYPE_A, 60, V4(127, 1, 1, 1) + "x");
  ParsedDns p = ParseDnsMessage(len.str(), kSeed);
  EXPECT_EQ(p.err, FG_DNS_E_RECORD);
  EXPECT_TRUE(p.addrs.empty());
  Msg reserved;
  reserved.Header(1, kResponse, 1, 0).Raw("\x41x").Question();
  EXPECT_EQ(ParseDnsMessage(reserved.str(), kSeed).err, FG_DNS_E_LABEL);
  // A '.' inside a label: "com.example.api" as one label must not pass for api.example.com.
  Msg dot;
  dot.Header(1, 0x0100, 1, 0).Label("com.example.api").Raw(std::string(1, '\0')).Question();
  EXPECT_EQ(ParseDnsMessage(dot.str(), kSeed).err, FG_DNS_E_LABEL);
}

TEST(DnsMessageTest, HugeCountsAreBounded) {
  Msg m;
  m.Header(1, kResponse, 1, 0xffff).Name("many.example.com").Question();
  for (int i = 0; i < 100; ++i)
    m.Pointer(12).Rr(FG_DNS_TYPE_A, 60,
                     V4(127, 2, static_cast<uint8_t>(i / 256), static_cast<uint8_t>(i)));
  ParsedDns p = ParseDnsMessage(m.str(), kSeed);
  EXPECT_EQ(p.addrs.size(), static_cast<size_t>(FG_DNS_ADDRS));
}

TEST(DnsMessageTest, NamesAtTheLimits) {
  std::string l63(63, 'a');
  std::string name = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');  // 253 chars
  ASSERT_TRUE(HashDnsName(name, kSeed));
  Msg ok;
  ok.Header(1, 0x0100, 1, 0).Name(name).Question();
  ParsedDns p = ParseDnsMessage(ok.str(), kSeed);
  EXPECT_EQ(p.err, FG_DNS_OK);
  EXPECT_EQ(p.name, name);
  EXPECT_EQ(p.hash, H(name));
  Msg longer;  // 256 bytes on the wire
  longer.Header(1, 0x0100, 1, 0).Name(name + "cc").Question();
  EXPECT_EQ(ParseDnsMessage(longer.str(), kSeed).err, FG_DNS_E_NAME_LONG);
  EXPECT_FALSE(HashDnsName(name + "cc", kSeed));
  EXPECT_FALSE(HashDnsName(std::string(64, 'a') + ".com", kSeed));
  EXPECT_FALSE(HashDnsName("a..com", kSeed));
  EXPECT_FALSE(HashDnsName("", kSeed));
  // Only the first FG_DNS_BUF bytes are seen: a record beyond is not bound.
  Msg big;
  big.Header(1, kResponse, 1, 2).Name("big.example.com").Question();
  big.Pointer(12).Rr(16 /* TXT */, 60, std::string(FG_DNS_BUF, 'x'));
  big.Pointer(12).Rr(FG_DNS_TYPE_A, 60, V4(127, 3, 3, 3));
  p = ParseDnsMessage(big.str(), kSeed);
  EXPECT_EQ(p.err, FG_DNS_E_SHORT);
  EXPECT_TRUE(p.addrs.empty());
}

TEST(DnsMessageTest, NotAQueryIsRefused) {
  Msg two;
  two.Header(1, kResponse, 2, 0).Name("a.com").Question().Name("b.com").Question();
  EXPECT_EQ(ParseDnsMessage(two.str(), kSeed).err, FG_DNS_E_NOT_QUERY);
  Msg update;  // opcode 5
  update.Header(1, 0x2800, 1, 0).Name("a.com").Question();
  EXPECT_EQ(ParseDnsMessage(update.str(), kSeed).err, FG_DNS_E_NOT_QUERY);
}

}  // namespace
}  // namespace faasguard
