// DNS messages and the packets that carry them, written byte by byte for tests: the parser's
// unit tests, the kernel programs run through BPF_PROG_TEST_RUN, and hostile packets. Names are
// written uncompressed unless a pointer is asked for; nothing is checked (a test may lie).
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <string>

namespace faasguard::testing {

class DnsMsg {
 public:
  DnsMsg& Header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0,
                 uint16_t ar = 0) {
    U16(id), U16(flags), U16(qd), U16(an), U16(ns), U16(ar);
    return *this;
  }
  DnsMsg& Name(const std::string& dotted) {
    size_t start = 0;
    while (start <= dotted.size()) {
      size_t dot = dotted.find('.', start);
      if (dot == std::string::npos) dot = dotted.size();
      std::string label = dotted.substr(start, dot - start);
      if (!label.empty()) {
        b_.push_back(static_cast<char>(label.size()));
        b_ += label;
      }
      start = dot + 1;
    }
    b_.push_back(0);
    return *this;
  }
  DnsMsg& Pointer(uint16_t to) {
    U16(static_cast<uint16_t>(0xc000 | to));
    return *this;
  }
  DnsMsg& Label(const std::string& l) {
    b_.push_back(static_cast<char>(l.size()));
    b_ += l;
    return *this;
  }
  DnsMsg& Question(uint16_t type = 1 /* A */, uint16_t klass = 1 /* IN */) {
    U16(type), U16(klass);
    return *this;
  }
  DnsMsg& Rr(uint16_t type, uint32_t ttl, const std::string& rdata, uint16_t klass = 1) {
    U16(type), U16(klass), U32(ttl), U16(static_cast<uint16_t>(rdata.size()));
    b_ += rdata;
    return *this;
  }
  DnsMsg& Raw(const std::string& s) {
    b_ += s;
    return *this;
  }
  size_t size() const { return b_.size(); }
  const std::string& str() const { return b_; }

  // A query for `name` as a stub resolver sends it.
  static std::string Query(uint16_t id, const std::string& name, uint16_t type = 1) {
    return DnsMsg().Header(id, 0x0100, 1, 0).Name(name).Question(type).str();
  }

 private:
  void U16(uint16_t v) {
    b_.push_back(static_cast<char>(v >> 8));
    b_.push_back(static_cast<char>(v));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v));
  }
  std::string b_;
};

inline std::string V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return std::string{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                     static_cast<char>(d)};
}

// Address text -> its bytes (4 or 16).
inline std::string AddrBytes(const std::string& text) {
  in6_addr a6{};
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1)
    return std::string(reinterpret_cast<const char*>(&a4), 4);
  if (inet_pton(AF_INET6, text.c_str(), &a6) == 1)
    return std::string(reinterpret_cast<const char*>(&a6), 16);
  return "";
}

// An Ethernet frame holding an IP packet (what BPF_PROG_TEST_RUN takes for skb programs).
class Packet {
 public:
  static constexpr uint8_t kUdp = 17, kTcp = 6;

  // An IPv4 (or IPv6, by the addresses' form) packet from src:sport to dst:dport.
  static std::string Ip(uint8_t proto, const std::string& src, uint16_t sport,
                        const std::string& dst, uint16_t dport, const std::string& payload,
                        const std::string& v6_ext = "", uint8_t v6_first_next = 0,
                        uint16_t v4_frag = 0) {
    std::string s = AddrBytes(src), d = AddrBytes(dst);
    std::string l4 = proto == kUdp ? Udp(sport, dport, payload) : Tcp(sport, dport, payload);
    std::string out(12, '\0');
    if (s.size() == 4) {
      out += std::string{0x08, 0x00};
      std::string ip(20, '\0');
      ip[0] = 0x45;
      uint16_t total = static_cast<uint16_t>(20 + l4.size());
      ip[2] = static_cast<char>(total >> 8), ip[3] = static_cast<char>(total);
      ip[6] = static_cast<char>(v4_frag >> 8), ip[7] = static_cast<char>(v4_frag);
      ip[8] = 64;
      ip[9] = static_cast<char>(proto);
      ip.replace(12, 4, s);
      ip.replace(16, 4, d);
      return out + ip + l4;
    }
    out += std::string{static_cast<char>(0x86), static_cast<char>(0xdd)};
    std::string ip(40, '\0');
    ip[0] = 0x60;
    uint16_t plen = static_cast<uint16_t>(v6_ext.size() + l4.size());
    ip[4] = static_cast<char>(plen >> 8), ip[5] = static_cast<char>(plen);
    ip[6] = static_cast<char>(v6_ext.empty() ? proto : v6_first_next);
    ip[7] = 64;
    ip.replace(8, 16, s);
    ip.replace(24, 16, d);
    return out + ip + v6_ext + l4;
  }

  // A TCP payload: each message with its two-byte length.
  static std::string TcpMessages(std::initializer_list<std::string> msgs) {
    std::string out;
    for (const auto& m : msgs) {
      out.push_back(static_cast<char>(m.size() >> 8));
      out.push_back(static_cast<char>(m.size()));
      out += m;
    }
    return out;
  }

 private:
  static std::string Udp(uint16_t sport, uint16_t dport, const std::string& payload) {
    std::string h(8, '\0');
    uint16_t len = static_cast<uint16_t>(8 + payload.size());
    h[0] = static_cast<char>(sport >> 8), h[1] = static_cast<char>(sport);
    h[2] = static_cast<char>(dport >> 8), h[3] = static_cast<char>(dport);
    h[4] = static_cast<char>(len >> 8), h[5] = static_cast<char>(len);
    return h + payload;
  }
  static std::string Tcp(uint16_t sport, uint16_t dport, const std::string& payload) {
    std::string h(20, '\0');
    h[0] = static_cast<char>(sport >> 8), h[1] = static_cast<char>(sport);
    h[2] = static_cast<char>(dport >> 8), h[3] = static_cast<char>(dport);
    h[12] = 0x50;  // 20-byte header
    h[13] = 0x18;  // PSH ACK
    return h + payload;
  }
};

}  // namespace faasguard::testing
