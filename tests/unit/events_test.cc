// Decoding ring-buffer records: every size and length is checked before it is trusted.
#include "bpf/events.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faasguard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

template <typename T>
std::vector<uint8_t> Bytes(const T& v, size_t extra = 0) {
  std::vector<uint8_t> b(sizeof v + extra, 0);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}

void FillHeader(fg_event_hdr& h, uint16_t type, uint16_t size) {
  h.type = type;
  h.size = size;
  h.fn_id = 7;
  h.ts_ns = 123456789;
  h.cgroup_id = 4242;
  h.pid = 100;
  h.tid = 101;
}

fg_syscall_event SyscallRecord(uint32_t nr, uint32_t arch) {
  fg_syscall_event e{};
  FillHeader(e.hdr, FG_EV_SYSCALL, sizeof e);
  e.nr = nr;
  e.arch = arch;
  return e;
}

std::unique_ptr<fg_exec_event> ExecRecord() {
  auto e = std::make_unique<fg_exec_event>();
  std::memset(e.get(), 0, sizeof *e);
  FillHeader(e->hdr, FG_EV_EXEC, sizeof *e);
  return e;
}

void SetField(char* buf, __u16* len, const std::string& s) {
  std::memcpy(buf, s.data(), s.size());
  *len = static_cast<__u16>(s.size());
}

absl::StatusOr<Event> Decode(const std::vector<uint8_t>& b) {
  return DecodeEvent(b.data(), b.size());
}

std::string ErrorOf(const absl::StatusOr<Event>& ev) {
  EXPECT_FALSE(ev.ok());
  return ev.ok() ? "" : std::string(ev.status().message());
}

TEST(DecodeEventTest, TooShort) {
  fg_syscall_event e = SyscallRecord(0, 0);
  EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof(fg_event_hdr) - 1)), HasSubstr("shorter"));
  EXPECT_THAT(ErrorOf(DecodeEvent(&e, 0)), HasSubstr("shorter"));
  EXPECT_FALSE(DecodeEvent(nullptr, sizeof e).ok());
}

TEST(DecodeEventTest, SizeFieldLargerThanTheRecord) {
  fg_syscall_event e = SyscallRecord(0, 0);
  EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof e - 1)), HasSubstr("claims 40 bytes"));
  e.hdr.size = 0xffff;
  EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof e)), HasSubstr("claims 65535 bytes"));
}

TEST(DecodeEventTest, WrongSizeForType) {
  fg_syscall_event s = SyscallRecord(0, 0);
  s.hdr.size = sizeof(fg_event_hdr);  // a header only
  EXPECT_THAT(ErrorOf(DecodeEvent(&s, sizeof s)), HasSubstr("syscall event of 32 bytes"));

  // A net-sized record that says it is an exec.
  fg_net_event n{};
  FillHeader(n.hdr, FG_EV_EXEC, sizeof n);
  EXPECT_THAT(ErrorOf(DecodeEvent(&n, sizeof n)), HasSubstr("exec event of 64 bytes"));

  // A syscall-sized record that says it is a net event.
  s = SyscallRecord(0, 0);
  s.hdr.type = FG_EV_NET;
  EXPECT_THAT(ErrorOf(DecodeEvent(&s, sizeof s)), HasSubstr("net event of 40 bytes"));
}

TEST(DecodeEventTest, UnknownType) {
  fg_syscall_event e = SyscallRecord(0, 0);
  e.hdr.type = 9;
  EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof e)), HasSubstr("unknown event type 9"));
  e.hdr.type = 0;
  EXPECT_FALSE(DecodeEvent(&e, sizeof e).ok());
}

TEST(DecodeEventTest, Syscall) {
  fg_syscall_event e = SyscallRecord(257, FG_ARCH_COMPAT);
  absl::StatusOr<Event> ev = DecodeEvent(&e, sizeof e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto* s = std::get_if<SyscallEvent>(&*ev);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->nr, 257u);
  EXPECT_EQ(s->arch, static_cast<uint32_t>(FG_ARCH_COMPAT));
  EXPECT_EQ(s->hdr.type, FG_EV_SYSCALL);
  EXPECT_EQ(s->hdr.fn_id, 7u);
  EXPECT_EQ(s->hdr.ts_ns, 123456789u);
  EXPECT_EQ(s->hdr.cgroup_id, 4242u);
  EXPECT_EQ(s->hdr.pid, 100u);
  EXPECT_EQ(s->hdr.tid, 101u);
}

TEST(DecodeEventTest, RecordLongerThanTheEventIsFine) {
  // Ring-buffer records are rounded up to 8 bytes; what lies past hdr.size is ignored.
  std::vector<uint8_t> b = Bytes(SyscallRecord(1, FG_ARCH_NATIVE), 8);
  EXPECT_TRUE(Decode(b).ok());
}

TEST(DecodeEventTest, SyscallOutOfRange) {
  fg_syscall_event e = SyscallRecord(FG_SYS_MAX, FG_ARCH_NATIVE);
  EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof e)), HasSubstr("nr 512"));
  e = SyscallRecord(FG_SYS_MAX - 1, FG_ARCH_NATIVE);
  EXPECT_TRUE(DecodeEvent(&e, sizeof e).ok());
  e = SyscallRecord(0, 3);
  EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof e)), HasSubstr("arch 3"));
  // arch 2 is an io_uring operation: its opcode is below 256.
  e = SyscallRecord(255, FG_ARCH_URING);
  EXPECT_TRUE(DecodeEvent(&e, sizeof e).ok());
  e = SyscallRecord(256, FG_ARCH_URING);
  EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof e)), HasSubstr("nr 256"));
}

TEST(DecodeEventTest, Exec) {
  auto e = ExecRecord();
  e->bin_hash = 0x1111;
  e->parent_hash = 0x2222;
  e->uid = 1000;
  e->ppid = 99;
  SetField(e->bin, &e->bin_len, "/usr/bin/curl");
  e->bin_flags = FG_PATH_F_UNLINKED;
  SetField(e->parent, &e->parent_len, "/bin/sh");
  e->parent_flags = 0;
  SetField(e->args, &e->args_len, std::string("a\0b\0", 4));
  SetField(e->filename, &e->filename_len, "./run.sh");
  e->flags = FG_EXEC_F_SCRIPT;

  absl::StatusOr<Event> ev = DecodeEvent(e.get(), sizeof *e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto* x = std::get_if<ExecEvent>(&*ev);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->hdr.fn_id, 7u);
  EXPECT_EQ(x->bin.path, "/usr/bin/curl");
  EXPECT_EQ(x->bin.flags, static_cast<uint32_t>(FG_PATH_F_UNLINKED));
  EXPECT_EQ(x->bin.hash, 0x1111u);
  EXPECT_EQ(x->parent.path, "/bin/sh");
  EXPECT_EQ(x->parent.flags, 0u);
  EXPECT_EQ(x->parent.hash, 0x2222u);
  EXPECT_EQ(x->uid, 1000u);
  EXPECT_EQ(x->ppid, 99u);
  EXPECT_THAT(x->args, ElementsAre("a", "b"));
  EXPECT_EQ(x->filename, "./run.sh");
  EXPECT_EQ(x->flags, static_cast<uint32_t>(FG_EXEC_F_SCRIPT));
}

TEST(DecodeEventTest, ExecLengthsShorterThanTheTextWin) {
  auto e = ExecRecord();
  std::memcpy(e->bin, "/usr/bin/curl", 13);
  e->bin_len = 8;
  std::memcpy(e->args, "one\0two\0three", 13);
  e->args_len = 7;
  absl::StatusOr<Event> ev = DecodeEvent(e.get(), sizeof *e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto& x = std::get<ExecEvent>(*ev);
  EXPECT_EQ(x.bin.path, "/usr/bin");
  EXPECT_THAT(x.args, ElementsAre("one", "two"));
  EXPECT_EQ(x.parent.path, "");  // a kernel thread has no parent binary
}

TEST(DecodeEventTest, ExecFieldsWithoutNulAreBounded) {
  auto e = ExecRecord();
  std::memset(e->bin, 'b', sizeof e->bin);
  e->bin_len = 0xffff;
  std::memset(e->parent, 'p', sizeof e->parent);
  e->parent_len = sizeof e->parent;
  std::memset(e->args, 'a', sizeof e->args);
  e->args_len = 0xffff;
  std::memset(e->filename, 'f', sizeof e->filename);
  e->filename_len = 0xffff;
  absl::StatusOr<Event> ev = DecodeEvent(e.get(), sizeof *e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto& x = std::get<ExecEvent>(*ev);
  EXPECT_LT(x.bin.path.size(), sizeof e->bin);
  EXPECT_EQ(x.bin.path, std::string(x.bin.path.size(), 'b'));
  EXPECT_LT(x.parent.path.size(), sizeof e->parent);
  EXPECT_EQ(x.parent.path, std::string(x.parent.path.size(), 'p'));
  ASSERT_EQ(x.args.size(), 1u);
  EXPECT_LT(x.args[0].size(), sizeof e->args);
  EXPECT_EQ(x.args[0], std::string(x.args[0].size(), 'a'));
  EXPECT_LT(x.filename.size(), sizeof e->filename);
  EXPECT_EQ(x.filename, std::string(x.filename.size(), 'f'));
}

fg_net_event NetRecord(uint8_t kind, uint8_t family) {
  fg_net_event e{};
  FillHeader(e.hdr, FG_EV_NET, sizeof e);
  e.key.fn_id = 7;
  e.key.kind = kind;
  e.key.proto = 6;
  e.key.family = family;
  e.key.port = 443;
  const uint8_t addr[4] = {10, 0, 0, 1};
  std::memcpy(e.key.addr, addr, sizeof addr);
  return e;
}

TEST(DecodeEventTest, Net) {
  fg_net_event e = NetRecord(FG_NET_CONNECT, 4);
  absl::StatusOr<Event> ev = DecodeEvent(&e, sizeof e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto* n = std::get_if<NetEvent>(&*ev);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->hdr.fn_id, 7u);
  EXPECT_EQ(n->key.kind, FG_NET_CONNECT);
  EXPECT_EQ(n->key.proto, 6);
  EXPECT_EQ(n->key.family, 4);
  EXPECT_EQ(n->key.port, 443);
  EXPECT_EQ(std::memcmp(&n->key, &e.key, sizeof e.key), 0);

  e = NetRecord(FG_NET_ACCEPT, 6);
  EXPECT_TRUE(DecodeEvent(&e, sizeof e).ok());
}

TEST(DecodeEventTest, NetWithBadFamilyOrKind) {
  for (uint8_t family : {0, 2, 5, 10}) {
    fg_net_event e = NetRecord(FG_NET_CONNECT, family);
    EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof e)), HasSubstr("family"))
        << static_cast<int>(family);
  }
  for (uint8_t kind : {0, FG_NET_ACCEPT + 1, 255}) {
    fg_net_event e = NetRecord(kind, 4);
    EXPECT_THAT(ErrorOf(DecodeEvent(&e, sizeof e)), HasSubstr("kind")) << static_cast<int>(kind);
  }
}

// --- Violations --------------------------------------------------------------------------

std::unique_ptr<fg_violation_event> ViolationRecord(uint8_t kind, uint8_t action, uint8_t mode) {
  auto e = std::make_unique<fg_violation_event>();
  std::memset(e.get(), 0, sizeof *e);
  FillHeader(e->hdr, FG_EV_VIOLATION, sizeof *e);
  e->kind = kind;
  e->action = action;
  e->mode = mode;
  return e;
}

absl::StatusOr<Event> DecodeViolation(const fg_violation_event& e) {
  return DecodeEvent(&e, sizeof e);
}

TEST(DecodeEventTest, Violation) {
  auto e = ViolationRecord(FG_VIOL_EXEC, FG_ACT_KILLED, FG_MODE_ENFORCE);
  e->uid = 1000;
  e->ppid = 99;
  e->nr = 101;
  e->arch = FG_ARCH_COMPAT;
  e->net.fn_id = 7;
  e->net.kind = FG_NET_CONNECT;
  e->net.proto = 6;
  e->net.family = 4;
  e->net.port = 443;
  e->net.addr[0] = 10;
  e->net.addr[3] = 1;
  e->bin_hash = 0x1111;
  e->parent_hash = 0x2222;
  e->script_hash = 0x3333;
  SetField(e->bin, &e->bin_len, "/usr/bin/bash");
  e->bin_flags = FG_PATH_F_UNLINKED;
  SetField(e->parent, &e->parent_len, "/usr/bin/python3");
  e->parent_flags = FG_PATH_F_TRUNCATED;
  SetField(e->filename, &e->filename_len, "./run.sh");
  e->exec_flags = FG_EXEC_F_SCRIPT;
  std::memcpy(e->comm, "python3", 7);

  absl::StatusOr<Event> ev = DecodeViolation(*e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto* v = std::get_if<ViolationEvent>(&*ev);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->hdr.type, FG_EV_VIOLATION);
  EXPECT_EQ(v->hdr.fn_id, 7u);
  EXPECT_EQ(v->hdr.ts_ns, 123456789u);
  EXPECT_EQ(v->hdr.cgroup_id, 4242u);
  EXPECT_EQ(v->hdr.pid, 100u);
  EXPECT_EQ(v->hdr.tid, 101u);
  EXPECT_EQ(v->kind, FG_VIOL_EXEC);
  EXPECT_EQ(v->action, FG_ACT_KILLED);
  EXPECT_EQ(v->mode, FG_MODE_ENFORCE);
  EXPECT_EQ(v->uid, 1000u);
  EXPECT_EQ(v->ppid, 99u);
  EXPECT_EQ(v->nr, 101u);
  EXPECT_EQ(v->arch, static_cast<uint32_t>(FG_ARCH_COMPAT));
  EXPECT_EQ(std::memcmp(&v->net, &e->net, sizeof e->net), 0);
  EXPECT_EQ(v->bin.path, "/usr/bin/bash");
  EXPECT_EQ(v->bin.flags, static_cast<uint32_t>(FG_PATH_F_UNLINKED));
  EXPECT_EQ(v->bin.hash, 0x1111u);
  EXPECT_EQ(v->parent.path, "/usr/bin/python3");
  EXPECT_EQ(v->parent.flags, static_cast<uint32_t>(FG_PATH_F_TRUNCATED));
  EXPECT_EQ(v->parent.hash, 0x2222u);
  EXPECT_EQ(v->script_hash, 0x3333u);
  EXPECT_EQ(v->script, "./run.sh");
  EXPECT_EQ(v->exec_flags, static_cast<uint32_t>(FG_EXEC_F_SCRIPT));
  EXPECT_EQ(v->comm, "python3");
}

TEST(DecodeEventTest, ViolationOfEveryKindActionAndMode) {
  for (uint8_t kind = FG_VIOL_SYSCALL; kind <= FG_VIOL_LISTEN; ++kind) {
    for (uint8_t action = FG_ACT_REPORTED; action <= FG_ACT_KILLED; ++action) {
      for (uint8_t mode : {FG_MODE_LEARN, FG_MODE_MONITOR, FG_MODE_ENFORCE}) {
        auto e = ViolationRecord(kind, action, mode);
        absl::StatusOr<Event> ev = DecodeViolation(*e);
        ASSERT_TRUE(ev.ok()) << int{kind} << " " << int{action} << " " << int{mode} << ": "
                             << ev.status();
        const auto& v = std::get<ViolationEvent>(*ev);
        EXPECT_EQ(v.kind, kind);
        EXPECT_EQ(v.action, action);
        EXPECT_EQ(v.mode, mode);
      }
    }
  }
}

TEST(DecodeEventTest, ViolationScriptIsTheExecNameFlaggedOrNot) {
  // The decoder passes the name given to exec and the flags through; FG_EXEC_F_SCRIPT says
  // whether it is a script (the engine keeps it only then).
  auto e = ViolationRecord(FG_VIOL_EXEC, FG_ACT_KILLED, FG_MODE_ENFORCE);
  SetField(e->filename, &e->filename_len, "ls");
  absl::StatusOr<Event> ev = DecodeViolation(*e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto& v = std::get<ViolationEvent>(*ev);
  EXPECT_EQ(v.script, "ls");
  EXPECT_EQ(v.exec_flags & FG_EXEC_F_SCRIPT, 0u);
  EXPECT_EQ(v.script_hash, 0u);

  // A length shorter than the text wins; no text at all is empty.
  e = ViolationRecord(FG_VIOL_EXEC, FG_ACT_KILLED, FG_MODE_ENFORCE);
  std::memcpy(e->filename, "./run.sh", 8);
  e->filename_len = 5;
  e->exec_flags = FG_EXEC_F_SCRIPT;
  ev = DecodeViolation(*e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(std::get<ViolationEvent>(*ev).script, "./run");
  e = ViolationRecord(FG_VIOL_SYSCALL, FG_ACT_KILLED, FG_MODE_ENFORCE);
  ev = DecodeViolation(*e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  EXPECT_EQ(std::get<ViolationEvent>(*ev).script, "");
  EXPECT_EQ(std::get<ViolationEvent>(*ev).comm, "");
  EXPECT_EQ(std::get<ViolationEvent>(*ev).bin.path, "");
}

TEST(DecodeEventTest, ViolationFieldsWithoutNulAreBounded) {
  auto e = ViolationRecord(FG_VIOL_CONNECT, FG_ACT_DENIED, FG_MODE_ENFORCE);
  std::memset(e->comm, 'c', sizeof e->comm);
  std::memset(e->bin, 'b', sizeof e->bin);
  e->bin_len = 0xffff;
  std::memset(e->parent, 'p', sizeof e->parent);
  e->parent_len = sizeof e->parent;
  std::memset(e->filename, 'f', sizeof e->filename);
  e->filename_len = 0xffff;
  absl::StatusOr<Event> ev = DecodeViolation(*e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto& v = std::get<ViolationEvent>(*ev);
  EXPECT_LT(v.comm.size(), sizeof e->comm);
  EXPECT_EQ(v.comm, std::string(v.comm.size(), 'c'));
  EXPECT_FALSE(v.comm.empty());
  EXPECT_LT(v.bin.path.size(), sizeof e->bin);
  EXPECT_EQ(v.bin.path, std::string(v.bin.path.size(), 'b'));
  EXPECT_LT(v.parent.path.size(), sizeof e->parent);
  EXPECT_EQ(v.parent.path, std::string(v.parent.path.size(), 'p'));
  EXPECT_LT(v.script.size(), sizeof e->filename);
  EXPECT_EQ(v.script, std::string(v.script.size(), 'f'));
}

TEST(DecodeEventTest, ViolationItemIsBoundedByItsLengthAndBuffer) {
  auto e = ViolationRecord(FG_VIOL_FILE, FG_ACT_KILLED, FG_MODE_ENFORCE);
  std::memcpy(e->item, "/var/run/secrets/token", 22);
  e->item_len = 22;
  e->item_hash = 77;
  e->item_flags = 3;
  auto ev = DecodeViolation(*e);
  ASSERT_TRUE(ev.ok()) << ev.status();
  const auto& v = std::get<ViolationEvent>(*ev);
  EXPECT_EQ(v.item, "/var/run/secrets/token");
  EXPECT_EQ(v.item_hash, 77u);
  EXPECT_EQ(v.item_flags, 3u);
  // A length past the buffer and no NUL: cut at the buffer.
  std::memset(e->item, 'x', sizeof e->item);
  e->item_len = 0xffff;
  ev = DecodeViolation(*e);
  ASSERT_TRUE(ev.ok());
  EXPECT_LE(std::get<ViolationEvent>(*ev).item.size(), sizeof e->item);
}

TEST(DecodeEventTest, ViolationWithBadKindActionOrMode) {
  for (uint8_t kind : {0, FG_VIOL_KINDS, 255}) {
    auto e = ViolationRecord(kind, FG_ACT_DENIED, FG_MODE_ENFORCE);
    EXPECT_THAT(ErrorOf(DecodeViolation(*e)), HasSubstr("violation event kind"))
        << static_cast<int>(kind);
  }
  // Every kind the ABI names decodes, the ones past listen included (io_uring, DNS, ...).
  for (uint8_t kind : {FG_VIOL_IOURING, FG_VIOL_DNS_QUERY, FG_VIOL_FILE})
    EXPECT_TRUE(DecodeViolation(*ViolationRecord(kind, FG_ACT_DENIED, FG_MODE_ENFORCE)).ok());
  // The last action is FG_ACT_FAILED_OPEN (enforce mode, fail-open function, no agent).
  EXPECT_TRUE(
      DecodeViolation(*ViolationRecord(FG_VIOL_EXEC, FG_ACT_FAILED_OPEN, FG_MODE_ENFORCE)).ok());
  for (uint8_t action : {0, FG_ACT_FAILED_OPEN + 1, 255}) {
    auto e = ViolationRecord(FG_VIOL_EXEC, action, FG_MODE_ENFORCE);
    EXPECT_THAT(ErrorOf(DecodeViolation(*e)), HasSubstr("action")) << static_cast<int>(action);
  }
  for (uint8_t mode : {FG_MODE_ENFORCE + 1, 255}) {
    auto e = ViolationRecord(FG_VIOL_EXEC, FG_ACT_KILLED, mode);
    EXPECT_THAT(ErrorOf(DecodeViolation(*e)), HasSubstr("mode")) << static_cast<int>(mode);
  }
}

TEST(DecodeEventTest, ViolationOfTheWrongSize) {
  auto e = ViolationRecord(FG_VIOL_EXEC, FG_ACT_KILLED, FG_MODE_ENFORCE);
  // A record shorter than the size it claims.
  EXPECT_THAT(ErrorOf(DecodeEvent(e.get(), sizeof *e - 1)), HasSubstr("claims"));
  // A size that is not a violation's.
  e->hdr.size = sizeof *e - 8;
  EXPECT_THAT(ErrorOf(DecodeViolation(*e)),
              HasSubstr(absl::StrCat("violation event of ", sizeof *e - 8, " bytes")));
  // Smaller records that say they are violations.
  fg_syscall_event s = SyscallRecord(1, FG_ARCH_NATIVE);
  s.hdr.type = FG_EV_VIOLATION;
  EXPECT_THAT(ErrorOf(DecodeEvent(&s, sizeof s)), HasSubstr("violation event of 40 bytes"));
  fg_net_event n = NetRecord(FG_NET_CONNECT, 4);
  n.hdr.type = FG_EV_VIOLATION;
  EXPECT_THAT(ErrorOf(DecodeEvent(&n, sizeof n)), HasSubstr("violation event of 64 bytes"));
  // And a violation-sized record with another type.
  e = ViolationRecord(FG_VIOL_EXEC, FG_ACT_KILLED, FG_MODE_ENFORCE);
  e->hdr.type = FG_EV_EXEC;
  EXPECT_THAT(ErrorOf(DecodeViolation(*e)), HasSubstr("exec event of"));
}

}  // namespace
}  // namespace faasguard
