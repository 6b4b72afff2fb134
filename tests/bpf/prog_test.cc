// bpf (root): the real object loaded (not attached); programs run through BPF_PROG_TEST_RUN
// and the shared structs checked against the object's BTF. Every test runs twice: sys_enter
// finding tracked cgroups in fg_tracked (kernels before 6.2) and in cgroup local storage.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/strings/str_cat.h"
#include "bpf/events.h"
#include "cgroup/cgroup.h"
#include "fg_bpf.skel.h"
#include "gtest/gtest.h"
#include "support/root_harness.h"

namespace faasguard {
namespace {

constexpr uint64_t kSeed = 0x1234abcd;

// As the agent does after every change of tracking, config or sets (BpfKernelMaps::
// InvalidateCpuCaches): a new generation in every CPU's fg_cpu_cache.
void InvalidateCache(fg_bpf* skel) {
  static uint64_t gen = 0;
  int ncpus = libbpf_num_possible_cpus();
  ASSERT_GT(ncpus, 0);
  std::vector<fg_cpu_cache> per(static_cast<size_t>(ncpus));
  ++gen;
  for (auto& c : per) c.gen = gen;
  uint32_t zero = 0;
  ASSERT_EQ(bpf_map__update_elem(skel->maps.fg_cpu_cache, &zero, sizeof zero, per.data(),
                                 per.size() * sizeof per[0], 0),
            0)
      << std::strerror(errno);
}

class BpfProgTest : public ::testing::TestWithParam<bool> {
 protected:
  bool Fast() const { return GetParam(); }

  void SetUp() override {
    FG_REQUIRE_ROOT();
    skel_ = fg_bpf__open();
    ASSERT_NE(skel_, nullptr);
    skel_->rodata->fg_hash_seed = kSeed;
    skel_->rodata->fg_cg_local_on = Fast();
    ASSERT_EQ(bpf_map__set_max_entries(skel_->maps.fg_events, 4096), 0);
    ASSERT_EQ(fg_bpf__load(skel_), 0) << "the verifier refused a program";
    rb_ =
        ring_buffer__new(bpf_map__fd(skel_->maps.fg_events), &BpfProgTest::OnEvent, this, nullptr);
    ASSERT_NE(rb_, nullptr);
  }

  void TearDown() override {
    if (rb_) ring_buffer__free(rb_);
    if (skel_) fg_bpf__destroy(skel_);
  }

  static int OnEvent(void* ctx, void* data, size_t size) {
    auto ev = DecodeEvent(data, size);
    EXPECT_TRUE(ev.ok()) << ev.status();
    if (ev.ok()) static_cast<BpfProgTest*>(ctx)->events_.push_back(*ev);
    return 0;
  }

  std::vector<Event> Consume() {
    events_.clear();
    ring_buffer__consume(rb_);
    return events_;
  }

  // Run a raw tracepoint program with the given arguments, as the kernel would.
  void RunRawTp(bpf_program* prog, std::vector<uint64_t> args) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(),
                .ctx_size_in = static_cast<__u32>(args.size() * sizeof(uint64_t)));
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0) << std::strerror(errno);
  }

  // As the agent does (BpfKernelMaps::TrackCgroup): fg_tracked, and its copy in fg_cg_local.
  void Track(uint64_t cgid, uint32_t fn_id, uint32_t flags = 0, bool mirror = true) {
    fg_cgroup_val v{fn_id, flags};
    ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_tracked, &cgid, sizeof cgid, &v, sizeof v, 0), 0);
    if (!Fast() || !mirror) return;
    int cg = OpenCgroup(cgid);
    ASSERT_GE(cg, 0) << std::strerror(errno);
    EXPECT_EQ(bpf_map__update_elem(skel_->maps.fg_cg_local, &cg, sizeof cg, &v, sizeof v, 0), 0);
    ::close(cg);
    InvalidateCache(skel_);
  }

  // fg_cg_local's entry of a cgroup; nullopt when it has none.
  std::optional<fg_cgroup_val> Local(uint64_t cgid) {
    int cg = OpenCgroup(cgid);
    EXPECT_GE(cg, 0) << std::strerror(errno);
    fg_cgroup_val v{};
    int r = bpf_map__lookup_elem(skel_->maps.fg_cg_local, &cg, sizeof cg, &v, sizeof v, 0);
    ::close(cg);
    if (r != 0) return std::nullopt;
    return v;
  }

  static int OpenCgroup(uint64_t cgid) {
    int root = ::open(testing::Cgroup2Mount().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = OpenCgroupById(root, cgid);
    ::close(root);
    return fd;
  }

  fg_fn_state State(uint32_t fn_id) {
    fg_fn_state st{};
    EXPECT_EQ(
        bpf_map__lookup_elem(skel_->maps.fg_fn_state, &fn_id, sizeof fn_id, &st, sizeof st, 0), 0);
    return st;
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
};

// The test process runs its programs from a fresh cgroup of its own, restored afterwards.
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

TEST_P(BpfProgTest, SharedStructsMatchTheObjectsBtf) {
  const btf* b = bpf_object__btf(skel_->obj);
  ASSERT_NE(b, nullptr);
  struct Want {
    const char* name;
    size_t size;
  } want[] = {
      {"fg_event_hdr", sizeof(fg_event_hdr)},
      {"fg_cgroup_val", sizeof(fg_cgroup_val)},
      {"fg_fn_cfg", sizeof(fg_fn_cfg)},
      {"fg_cpu_cache", sizeof(fg_cpu_cache)},
      {"fg_agent_val", sizeof(fg_agent_val)},
      {"fg_fn_state", sizeof(fg_fn_state)},
      {"fg_exec_key", sizeof(fg_exec_key)},
      {"fg_net_key", sizeof(fg_net_key)},
      {"fg_seen_val", sizeof(fg_seen_val)},
      {"fg_path_val", sizeof(fg_path_val)},
      {"fg_syscall_event", sizeof(fg_syscall_event)},
      {"fg_exec_event", sizeof(fg_exec_event)},
      {"fg_net_event", sizeof(fg_net_event)},
  };
  for (const Want& w : want) {
    int id = btf__find_by_name_kind(b, w.name, BTF_KIND_STRUCT);
    ASSERT_GT(id, 0) << w.name << " is missing from the object's BTF";
    EXPECT_EQ(btf__type_by_id(b, id)->size, w.size) << w.name;
  }
  // Member offsets of the header every record starts with.
  int id = btf__find_by_name_kind(b, "fg_event_hdr", BTF_KIND_STRUCT);
  const btf_type* t = btf__type_by_id(b, id);
  const btf_member* m = btf_members(t);
  std::vector<std::pair<std::string, size_t>> got;
  for (int i = 0; i < btf_vlen(t); ++i)
    got.emplace_back(btf__name_by_offset(b, m[i].name_off), btf_member_bit_offset(t, i) / 8);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, size_t>>{
                     {"type", offsetof(fg_event_hdr, type)},
                     {"size", offsetof(fg_event_hdr, size)},
                     {"fn_id", offsetof(fg_event_hdr, fn_id)},
                     {"ts_ns", offsetof(fg_event_hdr, ts_ns)},
                     {"cgroup_id", offsetof(fg_event_hdr, cgroup_id)},
                     {"pid", offsetof(fg_event_hdr, pid)},
                     {"tid", offsetof(fg_event_hdr, tid)}}));
}

TEST_P(BpfProgTest, SysEnterSendsOnlyTheFirstSighting) {
  InCgroup cg("bpf-sys");
  Track(cg.id(), 7);
  for (int i = 0; i < 3; ++i) RunRawTp(skel_->progs.fg_sys_enter, {0, 110});
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});

  fg_fn_state st = State(7);
  EXPECT_TRUE(st.sys[110 / 64] & (1ull << (110 % 64)));
  EXPECT_TRUE(st.sys[0] & (1ull << 39));
  auto evs = Consume();
  ASSERT_EQ(evs.size(), 2u) << "one event per new syscall, none for repeats";
  const auto& e = std::get<SyscallEvent>(evs[0]);
  EXPECT_EQ(e.nr, 110u);
  EXPECT_EQ(e.hdr.fn_id, 7u);
  EXPECT_EQ(e.hdr.cgroup_id, cg.id());
  EXPECT_EQ(e.hdr.pid, static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(Stat(FG_STAT_EVENTS), 2u);
}

TEST_P(BpfProgTest, UntrackedTaskLeavesNothing) {
  InCgroup cg("bpf-untracked");  // not in fg_tracked
  RunRawTp(skel_->progs.fg_sys_enter, {0, 110});
  for (uint32_t fn = 0; fn < 8; ++fn) {
    fg_fn_state st = State(fn);
    for (uint64_t w : st.sys) EXPECT_EQ(w, 0u);
  }
  EXPECT_TRUE(Consume().empty());
  EXPECT_EQ(Stat(FG_STAT_EVENTS), 0u);
}

TEST_P(BpfProgTest, OutOfRangeSyscallIsCountedNotRecorded) {
  InCgroup cg("bpf-range");
  Track(cg.id(), 3);
  RunRawTp(skel_->progs.fg_sys_enter, {0, FG_SYS_MAX + 5});
  RunRawTp(skel_->progs.fg_sys_enter, {0, static_cast<uint64_t>(-1)});
  EXPECT_EQ(Stat(FG_STAT_SYS_RANGE), 2u);
  EXPECT_TRUE(Consume().empty());
}

TEST_P(BpfProgTest, FullRingBufferIsCountedAndLearningGoesOn) {
  InCgroup cg("bpf-full");
  Track(cg.id(), 1);
  // 500 distinct syscalls into a 4 KiB ring buffer nobody reads: most events cannot be sent.
  for (uint64_t nr = 0; nr < 500; ++nr) RunRawTp(skel_->progs.fg_sys_enter, {0, nr});
  fg_fn_state st = State(1);
  int bits = 0;
  for (uint64_t w : st.sys) bits += __builtin_popcountll(w);
  EXPECT_EQ(bits, 500) << "the kernel-side set holds every syscall";
  uint64_t delivered = Consume().size();
  EXPECT_LT(delivered, 500u);
  EXPECT_EQ(Stat(FG_STAT_RB_RESERVE_FAIL), 500u - delivered);
  EXPECT_EQ(Stat(FG_STAT_EVENTS), delivered);
}

TEST_P(BpfProgTest, ExecPathHashMatchesUserSpaceAndIsRemembered) {
  InCgroup cg("bpf-exec");
  Track(cg.id(), 2);
  // No linux_binprm: the binary's path cannot be read (flagged), the parent's (this test's
  // parent process) is resolved from its file object.
  RunRawTp(skel_->progs.fg_exec, {0, 0, 0});
  auto evs = Consume();
  ASSERT_EQ(evs.size(), 1u);
  const auto& e = std::get<ExecEvent>(evs[0]);
  EXPECT_TRUE(e.bin.flags & FG_PATH_F_READ_ERR);
  ASSERT_FALSE(e.parent.path.empty());
  EXPECT_EQ(e.parent.path[0], '/');
  char buf[4096];
  ssize_t n = ::readlink(absl::StrCat("/proc/", ::getppid(), "/exe").c_str(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(e.parent.path, std::string(buf, static_cast<size_t>(n)));
  EXPECT_EQ(e.parent.hash, PathHash(e.parent.path, e.parent.flags, kSeed));
  EXPECT_EQ(e.bin.hash, PathHash(e.bin.path, e.bin.flags, kSeed));

  fg_path_val pv{};
  ASSERT_EQ(bpf_map__lookup_elem(skel_->maps.fg_paths, &e.parent.hash, sizeof e.parent.hash, &pv,
                                 sizeof pv, 0),
            0);
  EXPECT_EQ(std::string(pv.path, pv.len), e.parent.path);
  EXPECT_EQ(State(2).execs, 1u);

  // The same pair again: counted, not sent.
  RunRawTp(skel_->progs.fg_exec, {0, 0, 0});
  EXPECT_TRUE(Consume().empty());
  fg_exec_key key{2, 0, e.parent.hash, e.bin.hash, /*script_hash=*/0};
  fg_seen_val seen{};
  ASSERT_EQ(bpf_map__lookup_elem(skel_->maps.fg_execs, &key, sizeof key, &seen, sizeof seen, 0), 0);
  EXPECT_EQ(seen.count, 2u);
  EXPECT_EQ(State(2).execs, 2u);
}

void SetCfg(fg_bpf* skel, uint32_t fn_id, uint8_t mode, uint8_t action, uint8_t gen) {
  fg_fn_cfg cfg{};
  cfg.mode = mode;
  cfg.sys_action = action;
  cfg.gen = gen;
  ASSERT_EQ(bpf_map__update_elem(skel->maps.fg_fn_cfg, &fn_id, sizeof fn_id, &cfg, sizeof cfg, 0),
            0);
  InvalidateCache(skel);
}

void AllowSyscall(fg_bpf* skel, uint32_t fn_id, uint8_t gen, uint32_t nr) {
  uint32_t idx = fn_id * 2 + gen;
  fg_sys_allow a{};
  bpf_map__lookup_elem(skel->maps.fg_sys_allow, &idx, sizeof idx, &a, sizeof a, 0);
  a.sys[nr / 64] |= 1ull << (nr % 64);
  ASSERT_EQ(bpf_map__update_elem(skel->maps.fg_sys_allow, &idx, sizeof idx, &a, sizeof a, 0), 0);
  InvalidateCache(skel);
}

// Enforce with action "alert" (a kill would end this test process): the generation named in
// fg_fn_cfg is the one checked, and a violation is reported, not learned.
TEST_P(BpfProgTest, SyscallCheckUsesTheGenerationInForce) {
  InCgroup cg("bpf-gen");
  Track(cg.id(), 4);
  AllowSyscall(skel_, 4, 1, 39);  // getpid allowed in generation 1 only
  SetCfg(skel_, 4, FG_MODE_ENFORCE, FG_SYS_ALERT, 0);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});
  auto evs = Consume();
  ASSERT_EQ(evs.size(), 1u);
  const auto& v = std::get<ViolationEvent>(evs[0]);
  EXPECT_EQ(v.kind, FG_VIOL_SYSCALL);
  EXPECT_EQ(v.action, FG_ACT_ALERT);
  EXPECT_EQ(v.nr, 39u);
  EXPECT_EQ(v.mode, FG_MODE_ENFORCE);
  EXPECT_EQ(v.hdr.pid, static_cast<uint32_t>(::getpid()));
  EXPECT_FALSE(v.bin.path.empty()) << "the offending process's binary is named";
  EXPECT_EQ(State(4).viol[FG_VIOL_SYSCALL], 1u);
  for (uint64_t w : State(4).sys) EXPECT_EQ(w, 0u) << "enforce mode learns nothing";

  SetCfg(skel_, 4, FG_MODE_ENFORCE, FG_SYS_ALERT, 1);  // flip to generation 1
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});
  EXPECT_TRUE(Consume().empty());
  // Numbers outside the table are never allowed.
  RunRawTp(skel_->progs.fg_sys_enter, {0, 0x40000000 + 39});
  evs = Consume();
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(std::get<ViolationEvent>(evs[0]).nr, 0x40000000u + 39);
}

// Keeps the calling thread on one CPU while it lives: fg_cpu_cache is per CPU.
class OnOneCpu {
 public:
  OnOneCpu() {
    sched_getaffinity(0, sizeof old_, &old_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    sched_setaffinity(0, sizeof one, &one);
  }
  ~OnOneCpu() { sched_setaffinity(0, sizeof old_, &old_); }

 private:
  cpu_set_t old_;
};

// sys_enter's per-CPU cache: an allowed syscall of a tracked task is decided from it while its
// generation holds (a change made behind its back is not seen: that is the cache at work), and
// from the maps again as soon as the agent's new generation is written. The fg_tracked path
// (kernels without cgroup local storage) has no cache and sees every change at once.
TEST_P(BpfProgTest, CpuCacheDecidesUntilANewGeneration) {
  OnOneCpu pin;
  InCgroup cg("bpf-cache");
  Track(cg.id(), 6);
  AllowSyscall(skel_, 6, 0, 39);
  SetCfg(skel_, 6, FG_MODE_ENFORCE, FG_SYS_ALERT, 0);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});  // the maps: allowed, and now cached
  EXPECT_TRUE(Consume().empty());
  uint32_t idx = 6 * 2;
  fg_sys_allow none{};
  ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_sys_allow, &idx, sizeof idx, &none, sizeof none, 0),
            0);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});
  if (Fast())
    EXPECT_TRUE(Consume().empty()) << "decided from the cache";
  else
    EXPECT_EQ(Consume().size(), 1u) << "no cache on the fg_tracked path";
  InvalidateCache(skel_);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});
  auto evs = Consume();
  ASSERT_EQ(evs.size(), 1u) << "a new generation: the maps decide again";
  EXPECT_EQ(std::get<ViolationEvent>(evs[0]).nr, 39u);

  // Learn mode: a learned syscall is cached as known; after the slot is reset (a new
  // generation), it is learned, and sent, again.
  SetCfg(skel_, 6, FG_MODE_LEARN, FG_SYS_KILL, 0);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 40});
  EXPECT_EQ(Consume().size(), 1u);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 40});
  EXPECT_TRUE(Consume().empty());
  fg_fn_state zero{};
  uint32_t fn = 6;
  ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_fn_state, &fn, sizeof fn, &zero, sizeof zero, 0),
            0);
  InvalidateCache(skel_);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 40});
  EXPECT_EQ(Consume().size(), 1u);
}

// A pending container's cgroup is never cached: the syscalls after its first exec are checked.
TEST_P(BpfProgTest, PendingCgroupIsNotCached) {
  OnOneCpu pin;
  InCgroup cg("bpf-cache-pending");
  Track(cg.id(), 7, FG_CG_F_PENDING);
  SetCfg(skel_, 7, FG_MODE_ENFORCE, FG_SYS_ALERT, 0);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});
  EXPECT_TRUE(Consume().empty()) << "pending: unchecked";
  // The entrypoint's exec clears the flag in the kernel (fg_exec, fg_mirror_current), with no
  // new generation: nothing stale may answer for the cgroup.
  fg_cgroup_val v{7, 0};
  uint64_t id = cg.id();
  ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_tracked, &id, sizeof id, &v, sizeof v, 0), 0);
  if (Fast()) {
    int fd = OpenCgroup(id);
    ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_cg_local, &fd, sizeof fd, &v, sizeof v, 0), 0);
    ::close(fd);
  }
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});
  EXPECT_EQ(Consume().size(), 1u) << "checked from the first syscall after the flag went";
}

TEST_P(BpfProgTest, MonitorModeReportsAndViolationRecordsAreBudgeted) {
  InCgroup cg("bpf-budget");
  Track(cg.id(), 5);
  SetCfg(skel_, 5, FG_MODE_MONITOR, FG_SYS_KILL, 0);
  for (int i = 0; i < FG_VIOL_BUDGET + 36; ++i) {
    RunRawTp(skel_->progs.fg_sys_enter, {0, 101});
    Consume();  // the 4 KiB ring buffer holds one violation record
  }
  fg_fn_state st = State(5);
  EXPECT_EQ(st.viol[FG_VIOL_SYSCALL], static_cast<uint64_t>(FG_VIOL_BUDGET + 36))
      << "every violation is counted";
  EXPECT_EQ(st.viol_suppressed, 36u) << "records beyond the budget are only counted";
  EXPECT_EQ(Stat(FG_STAT_RB_RESERVE_FAIL), 0u);
}

TEST_P(BpfProgTest, ExecInMonitorModeIsReportedWithItsPaths) {
  InCgroup cg("bpf-exec-monitor");
  Track(cg.id(), 6);
  SetCfg(skel_, 6, FG_MODE_MONITOR, FG_SYS_KILL, 0);
  RunRawTp(skel_->progs.fg_exec, {0, 0, 0});  // no binprm: an unreadable binary
  auto evs = Consume();
  ASSERT_EQ(evs.size(), 1u);
  const auto& v = std::get<ViolationEvent>(evs[0]);
  EXPECT_EQ(v.kind, FG_VIOL_EXEC);
  EXPECT_EQ(v.action, FG_ACT_REPORTED);
  EXPECT_TRUE(v.bin.flags & FG_PATH_F_READ_ERR);
  EXPECT_EQ(v.parent.hash, PathHash(v.parent.path, v.parent.flags, kSeed));
  fg_exec_key key{6, 0, v.parent.hash, v.bin.hash, /*script_hash=*/0};
  fg_seen_val seen{};
  EXPECT_NE(bpf_map__lookup_elem(skel_->maps.fg_execs, &key, sizeof key, &seen, sizeof seen, 0), 0)
      << "monitor mode learns nothing";
}

// A container inherited at mkdir is in fg_tracked only, pending; its entrypoint's exec clears
// the flag and, with cgroup local storage, writes sys_enter's copy.
TEST_P(BpfProgTest, ExecOfTheEntrypointStartsSyscallLearning) {
  InCgroup cg("bpf-pending");
  Track(cg.id(), 5, FG_CG_F_INHERITED | FG_CG_F_PENDING, /*mirror=*/false);
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});
  EXPECT_EQ(State(5).sys[0], 0u) << "the runtime's own setup is not learned";
  if (Fast()) {
    EXPECT_FALSE(Local(cg.id()).has_value());
  }

  RunRawTp(skel_->progs.fg_exec, {0, 0, 0});
  if (Fast()) {
    auto v = Local(cg.id());
    ASSERT_TRUE(v.has_value()) << "the exec program writes sys_enter's copy";
    EXPECT_EQ(v->fn_id, 5u);
    EXPECT_EQ(v->flags, static_cast<uint32_t>(FG_CG_F_INHERITED));
  }
  RunRawTp(skel_->progs.fg_sys_enter, {0, 39});
  EXPECT_TRUE(State(5).sys[0] & (1ull << 39));
}

INSTANTIATE_TEST_SUITE_P(Lookup, BpfProgTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "CgroupStorage" : "HashMap";
                         });

}  // namespace
}  // namespace faasguard
