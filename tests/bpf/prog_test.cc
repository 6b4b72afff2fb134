// bpf (root): the real object loaded (not attached); programs run through BPF_PROG_TEST_RUN
// and the shared structs checked against the object's BTF. Every test runs three times:
// sys_enter finding tracked cgroups in fg_tracked (kernels before 6.2), in cgroup local
// storage, and in cgroup local storage behind the task mark (fg_task_mark, 6.7+).
// TaskMarkTest attaches the mark programs and checks the ways into a tracked cgroup.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "abi/fg_abi.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bpf/events.h"
#include "bpf/kernel_maps.h"
#include "cgroup/cgroup.h"
#include "common/files.h"
#include "core/abi_codec.h"
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

// Where sys_enter finds tracked cgroups.
enum class Lookup { kHashMap, kCgroupStorage, kTaskMark };

// fg_stats[idx], summed over CPUs.
uint64_t StatSum(fg_bpf* skel, uint32_t idx) {
  int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> v(static_cast<size_t>(ncpu));
  EXPECT_EQ(bpf_map__lookup_elem(skel->maps.fg_stats, &idx, sizeof idx, v.data(),
                                 v.size() * sizeof(uint64_t), 0),
            0);
  uint64_t sum = 0;
  for (uint64_t x : v) sum += x;
  return sum;
}

class BpfProgTest : public ::testing::TestWithParam<Lookup> {
 protected:
  bool Fast() const { return GetParam() != Lookup::kHashMap; }
  bool Marks() const { return GetParam() == Lookup::kTaskMark; }

  void SetUp() override {
    FG_REQUIRE_ROOT();
    skel_ = fg_bpf__open();
    ASSERT_NE(skel_, nullptr);
    skel_->rodata->fg_hash_seed = kSeed;
    skel_->rodata->fg_cg_local_on = Fast();
    skel_->rodata->fg_task_mark_on = Marks();
    bpf_program__set_autoload(skel_->progs.fg_mark_tasks, Marks());
    bpf_program__set_autoload(skel_->progs.fg_sys_enter, Marks());
    bpf_program__set_autoload(skel_->progs.fg_sys_enter_cg, !Marks());
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

  // The sys_enter the agent would load (BpfPrograms::sys_enter).
  bpf_program* SysEnter() const {
    return Marks() ? skel_->progs.fg_sys_enter : skel_->progs.fg_sys_enter_cg;
  }

  // Run a raw tracepoint program with the given arguments, as the kernel would.
  void RunRawTp(bpf_program* prog, std::vector<uint64_t> args) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(),
                .ctx_size_in = static_cast<__u32>(args.size() * sizeof(uint64_t)));
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0) << std::strerror(errno);
  }

  // As the agent does (BpfKernelMaps::TrackCgroup): fg_tracked, its copy in fg_cg_local, and
  // the tasks inside marked (the task iterator).
  void Track(uint64_t cgid, uint32_t fn_id, uint32_t flags = 0, bool mirror = true) {
    fg_cgroup_val v{fn_id, flags};
    ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_tracked, &cgid, sizeof cgid, &v, sizeof v, 0), 0);
    if (!Fast() || !mirror) return;
    int cg = OpenCgroup(cgid);
    ASSERT_GE(cg, 0) << std::strerror(errno);
    EXPECT_EQ(bpf_map__update_elem(skel_->maps.fg_cg_local, &cg, sizeof cg, &v, sizeof v, 0), 0);
    ::close(cg);
    if (Marks()) {
      auto marked = MarkTrackedTasks(bpf_program__fd(skel_->progs.fg_mark_tasks));
      ASSERT_TRUE(marked.ok()) << marked.status();
    }
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

  uint64_t Stat(uint32_t idx) { return StatSum(skel_, idx); }

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
  for (int i = 0; i < 3; ++i) RunRawTp(SysEnter(), {0, 110});
  RunRawTp(SysEnter(), {0, 39});

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
  RunRawTp(SysEnter(), {0, 110});
  for (uint32_t fn = 0; fn < 8; ++fn) {
    fg_fn_state st = State(fn);
    for (uint64_t w : st.sys) EXPECT_EQ(w, 0u);
  }
  EXPECT_TRUE(Consume().empty());
  EXPECT_EQ(Stat(FG_STAT_EVENTS), 0u);
}

// Every fork and exit on the node runs these two: a tracked cgroup's are counted, an untracked
// one's leave nothing. Where cgroup local storage is on they find the cgroup as sys_enter does
// (fg_current_entry): its fg_cg_local entry decides, not the hash map.
TEST_P(BpfProgTest, ForksAndExitsAreCountedForTrackedCgroupsOnly) {
  InCgroup cg("bpf-fork");
  RunRawTp(skel_->progs.fg_fork, {0, 0});
  RunRawTp(skel_->progs.fg_exit, {0});
  for (uint32_t fn = 0; fn < 8; ++fn) {
    EXPECT_EQ(State(fn).forks, 0u) << "untracked";
    EXPECT_EQ(State(fn).exits, 0u) << "untracked";
  }
  Track(cg.id(), 5, 0, /*mirror=*/false);
  RunRawTp(skel_->progs.fg_fork, {0, 0});
  EXPECT_EQ(State(5).forks, Fast() ? 0u : 1u) << "with local storage, the mirrored entry decides";
  Track(cg.id(), 5);
  RunRawTp(skel_->progs.fg_fork, {0, 0});
  RunRawTp(skel_->progs.fg_fork, {0, 0});
  RunRawTp(skel_->progs.fg_exit, {0});
  EXPECT_EQ(State(5).forks, Fast() ? 2u : 3u);
  EXPECT_EQ(State(5).exits, 1u);
}

TEST_P(BpfProgTest, OutOfRangeSyscallIsCountedNotRecorded) {
  InCgroup cg("bpf-range");
  Track(cg.id(), 3);
  RunRawTp(SysEnter(), {0, FG_SYS_MAX + 5});
  RunRawTp(SysEnter(), {0, static_cast<uint64_t>(-1)});
  EXPECT_EQ(Stat(FG_STAT_SYS_RANGE), 2u);
  EXPECT_TRUE(Consume().empty());
}

TEST_P(BpfProgTest, FullRingBufferIsCountedAndLearningGoesOn) {
  InCgroup cg("bpf-full");
  Track(cg.id(), 1);
  // 500 distinct syscalls into a 4 KiB ring buffer nobody reads: most events cannot be sent.
  for (uint64_t nr = 0; nr < 500; ++nr) RunRawTp(SysEnter(), {0, nr});
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
  RunRawTp(SysEnter(), {0, 39});
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
  RunRawTp(SysEnter(), {0, 39});
  EXPECT_TRUE(Consume().empty());
  // Numbers outside the table are never allowed.
  RunRawTp(SysEnter(), {0, 0x40000000 + 39});
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
  RunRawTp(SysEnter(), {0, 39});  // the maps: allowed, and now cached
  EXPECT_TRUE(Consume().empty());
  uint32_t idx = 6 * 2;
  fg_sys_allow none{};
  ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_sys_allow, &idx, sizeof idx, &none, sizeof none, 0),
            0);
  RunRawTp(SysEnter(), {0, 39});
  if (Fast())
    EXPECT_TRUE(Consume().empty()) << "decided from the cache";
  else
    EXPECT_EQ(Consume().size(), 1u) << "no cache on the fg_tracked path";
  InvalidateCache(skel_);
  RunRawTp(SysEnter(), {0, 39});
  auto evs = Consume();
  ASSERT_EQ(evs.size(), 1u) << "a new generation: the maps decide again";
  EXPECT_EQ(std::get<ViolationEvent>(evs[0]).nr, 39u);

  // Learn mode: a learned syscall is cached as known; after the slot is reset (a new
  // generation), it is learned, and sent, again.
  SetCfg(skel_, 6, FG_MODE_LEARN, FG_SYS_KILL, 0);
  RunRawTp(SysEnter(), {0, 40});
  EXPECT_EQ(Consume().size(), 1u);
  RunRawTp(SysEnter(), {0, 40});
  EXPECT_TRUE(Consume().empty());
  fg_fn_state zero{};
  uint32_t fn = 6;
  ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_fn_state, &fn, sizeof fn, &zero, sizeof zero, 0),
            0);
  InvalidateCache(skel_);
  RunRawTp(SysEnter(), {0, 40});
  EXPECT_EQ(Consume().size(), 1u);
}

// A pending container's cgroup is never cached: the syscalls after its first exec are checked.
TEST_P(BpfProgTest, PendingCgroupIsNotCached) {
  OnOneCpu pin;
  InCgroup cg("bpf-cache-pending");
  Track(cg.id(), 7, FG_CG_F_PENDING);
  SetCfg(skel_, 7, FG_MODE_ENFORCE, FG_SYS_ALERT, 0);
  RunRawTp(SysEnter(), {0, 39});
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
  RunRawTp(SysEnter(), {0, 39});
  EXPECT_EQ(Consume().size(), 1u) << "checked from the first syscall after the flag went";
}

TEST_P(BpfProgTest, MonitorModeReportsAndViolationRecordsAreBudgeted) {
  InCgroup cg("bpf-budget");
  Track(cg.id(), 5);
  SetCfg(skel_, 5, FG_MODE_MONITOR, FG_SYS_KILL, 0);
  for (int i = 0; i < FG_VIOL_BUDGET + 36; ++i) {
    RunRawTp(SysEnter(), {0, 101});
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
  RunRawTp(SysEnter(), {0, 39});
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
  RunRawTp(SysEnter(), {0, 39});
  EXPECT_TRUE(State(5).sys[0] & (1ull << 39));
}

// The mark programs attached for real (fork, migration; not sys_enter), the iterator run as
// the agent runs it, and each way into a tracked cgroup checked by looking up the mark of
// every thread (a pidfd per thread, PIDFD_THREAD).
class TaskMarkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FG_REQUIRE_ROOT();
    skel_ = fg_bpf__open();
    ASSERT_NE(skel_, nullptr);
    skel_->rodata->fg_cg_local_on = true;
    skel_->rodata->fg_task_mark_on = true;
    for (bpf_program* p : {skel_->progs.fg_mark_fork, skel_->progs.fg_mark_attach,
                           skel_->progs.fg_mark_tasks, skel_->progs.fg_sys_enter})
      bpf_program__set_autoload(p, true);
    bpf_program__set_autoload(skel_->progs.fg_sys_enter_cg, false);
    ASSERT_EQ(bpf_map__set_max_entries(skel_->maps.fg_events, 4096), 0);
    ASSERT_EQ(fg_bpf__load(skel_), 0) << "the verifier refused a program";
    for (bpf_program* p : {skel_->progs.fg_mark_fork, skel_->progs.fg_mark_attach}) {
      bpf_link* l = bpf_program__attach(p);
      ASSERT_NE(l, nullptr) << bpf_program__name(p) << ": " << std::strerror(errno);
      links_.push_back(l);
    }
    ASSERT_EQ(::pipe2(hold_, O_CLOEXEC), 0);
  }

  void TearDown() override {
    if (hold_[1] >= 0) ::close(hold_[1]);  // the children read end of file and leave
    for (pid_t c : children_) ::waitpid(c, nullptr, 0);
    if (hold_[0] >= 0) ::close(hold_[0]);
    for (bpf_link* l : links_) bpf_link__destroy(l);
    if (skel_) fg_bpf__destroy(skel_);
  }

  // The agent's part of TrackCgroup: the cgroup's fg_cg_local entry (fg_tracked is not read by
  // the mark programs), and then (`iterate`) the task iterator.
  std::vector<uint32_t> Track(const testing::TestCgroup& cg, bool iterate = true) {
    return Track(cg.path(), iterate);
  }
  std::vector<uint32_t> Track(const std::string& dir, bool iterate = true) {
    fg_cgroup_val v{3, 0};
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(bpf_map__update_elem(skel_->maps.fg_cg_local, &fd, sizeof fd, &v, sizeof v, 0), 0);
    ::close(fd);
    if (!iterate) return {};
    auto marked = MarkTrackedTasks(bpf_program__fd(skel_->progs.fg_mark_tasks));
    EXPECT_TRUE(marked.ok()) << marked.status();
    return marked.ok() ? *marked : std::vector<uint32_t>{};
  }

  // A child process with `threads` threads besides its main one, all blocked until TearDown;
  // moved (by itself) into `cgroup_dir` first unless it is empty.
  pid_t StartChild(const std::string& cgroup_dir, int threads) {
    int ready[2];
    EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(hold_[1]);
      ::close(ready[0]);
      if (!cgroup_dir.empty() && !MoveToCgroup(cgroup_dir, ::getpid()).ok()) ::_exit(1);
      Hold(threads, ready[1]);
    }
    ::close(ready[1]);
    char c;
    EXPECT_EQ(::read(ready[0], &c, 1), 1) << "the child did not start";
    ::close(ready[0]);
    children_.push_back(pid);
    return pid;
  }

  // In a child: start the threads, say so on `ready`, block until the hold pipe closes.
  [[noreturn]] void Hold(int threads, int ready) {
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i)
      ts.emplace_back([this] {
        char c;
        (void)!::read(hold_[0], &c, 1);
      });
    (void)!::write(ready, "r", 1);
    char c;
    (void)!::read(hold_[0], &c, 1);
    for (auto& t : ts) t.join();
    ::_exit(0);
  }

  static std::vector<uint32_t> Threads(pid_t pid) {
    std::vector<uint32_t> tids;
    for (const auto& e : std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task")))
      tids.push_back(static_cast<uint32_t>(std::stoul(e.path().filename().string())));
    return tids;
  }

  bool Marked(uint32_t tid) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, tid, O_EXCL /* PIDFD_THREAD */));
    EXPECT_GE(fd, 0) << "pidfd_open " << tid << ": " << std::strerror(errno);
    uint32_t v = 0;
    int r = bpf_map__lookup_elem(skel_->maps.fg_task_mark, &fd, sizeof fd, &v, sizeof v, 0);
    int err = errno;
    ::close(fd);
    EXPECT_TRUE(r == 0 || err == ENOENT) << std::strerror(err);
    return r == 0;
  }

  uint64_t MarkFailures() { return StatSum(skel_, FG_STAT_MARK_FAIL); }

  fg_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  int hold_[2] = {-1, -1};
  std::vector<pid_t> children_;
};

// Tasks already inside when the cgroup becomes tracked, threads included, are marked by the
// iterator; a task of another cgroup is not.
TEST_F(TaskMarkTest, IteratorMarksTheTasksAlreadyInsideAndNoOther) {
  testing::TestCgroup in("mark-iter"), out("mark-iter-other");
  pid_t a = StartChild(in.path(), 2), b = StartChild(out.path(), 1);
  for (uint32_t t : Threads(a)) EXPECT_FALSE(Marked(t)) << "not tracked yet";
  auto marked = Track(in);
  std::sort(marked.begin(), marked.end());
  auto want = Threads(a);
  std::sort(want.begin(), want.end());
  ASSERT_EQ(want.size(), 3u);
  EXPECT_EQ(marked, want) << "the iterator marks exactly the threads of the tracked cgroup";
  for (uint32_t t : Threads(a)) EXPECT_TRUE(Marked(t)) << t;
  for (uint32_t t : Threads(b)) EXPECT_FALSE(Marked(t)) << t;
  EXPECT_FALSE(Marked(static_cast<uint32_t>(::getpid())));
  EXPECT_EQ(MarkFailures(), 0u);
}

// Migration: a process moved by someone else (here the test) into a tracked cgroup, all its
// threads (a cgroup.procs write moves the thread group; the tracepoint names the leader).
TEST_F(TaskMarkTest, MigrationIntoATrackedCgroupMarksEveryThread) {
  testing::TestCgroup dst("mark-attach"), src("mark-attach-src");
  Track(dst);
  pid_t a = StartChild(src.path(), 3);
  for (uint32_t t : Threads(a)) EXPECT_FALSE(Marked(t));
  ASSERT_TRUE(MoveToCgroup(dst.path(), a).ok());
  auto tids = Threads(a);
  ASSERT_EQ(tids.size(), 4u);
  for (uint32_t t : tids) EXPECT_TRUE(Marked(t)) << t;
  // Moving itself in marks as well (what a runtime's init does), before the write returns.
  pid_t b = StartChild(dst.path(), 0);
  EXPECT_TRUE(Marked(static_cast<uint32_t>(b)));
  // Leaving for an untracked cgroup takes the marks away; coming back sets them again.
  ASSERT_TRUE(MoveToCgroup(src.path(), a).ok());
  for (uint32_t t : tids) EXPECT_FALSE(Marked(t)) << t;
  ASSERT_TRUE(MoveToCgroup(dst.path(), a).ok());
  for (uint32_t t : tids) EXPECT_TRUE(Marked(t)) << t;
  EXPECT_EQ(MarkFailures(), 0u);
}

// On hybrid hosts a runtime writes the task into every cgroup v1 hierarchy too: the same
// tracepoint, with a v1 cgroup that is never tracked. The task is still in its tracked v2
// cgroup, so its marks stay. (A named v1 hierarchy of the test's own, written at its root:
// the tracepoint fires all the same, and a hierarchy without children goes at umount, where
// one whose child was just removed can outlive it and show in every /proc/PID/cgroup.)
TEST_F(TaskMarkTest, AMoveInACgroupV1HierarchyKeepsTheMarks) {
  testing::TempDir mnt;
  if (::mount("cgroup", mnt.path().c_str(), "cgroup", 0, "none,name=fgmarktest") != 0)
    GTEST_SKIP() << "this kernel mounts no cgroup v1 hierarchy (" << std::strerror(errno)
                 << "): no v1 move can happen here";
  struct Unmount {
    std::string dir;
    ~Unmount() {
      if (!dir.empty()) ::umount2(dir.c_str(), 0);
    }
  } unmount{mnt.path()};
  testing::TestCgroup cg("mark-v1");
  Track(cg);
  pid_t a = StartChild(cg.path(), 1);
  auto tids = Threads(a);
  for (uint32_t t : tids) ASSERT_TRUE(Marked(t));
  EXPECT_TRUE(MoveToCgroup(mnt.path(), a).ok());
  for (uint32_t t : tids) EXPECT_TRUE(Marked(t)) << t;
  EXPECT_EQ(::umount2(mnt.path().c_str(), 0), 0) << std::strerror(errno);
  unmount.dir.clear();
}

// Fork: the child of a task in a tracked cgroup, and a child sent into one at clone
// (CLONE_INTO_CGROUP) by an untracked parent; threads made there.
TEST_F(TaskMarkTest, ForkAndCloneIntoATrackedCgroupAreMarked) {
  testing::TestCgroup cg("mark-fork");
  Track(cg);
  int fd = ::open(cg.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(fd);
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    ::close(hold_[1]);
    ::close(ready[0]);
    // A grandchild forked in the tracked cgroup, with a thread; it reports its pid.
    pid_t g = ::fork();
    if (g == 0) Hold(1, ready[1]);
    char c;
    (void)!::read(hold_[0], &c, 1);
    ::waitpid(g, nullptr, 0);
    ::_exit(0);
  }
  children_.push_back(pid);
  ::close(fd);
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  EXPECT_TRUE(Marked(static_cast<uint32_t>(pid))) << "CLONE_INTO_CGROUP";
  auto kids = ReadFile(cg.path() + "/cgroup.threads");
  ASSERT_TRUE(kids.ok());
  int n = 0;
  for (absl::string_view t : absl::StrSplit(*kids, '\n', absl::SkipEmpty())) {
    uint32_t tid = static_cast<uint32_t>(std::stoul(std::string(t)));
    EXPECT_TRUE(Marked(tid)) << tid;
    ++n;
  }
  EXPECT_EQ(n, 3) << "the clone, its child and the child's thread";
  EXPECT_FALSE(Marked(static_cast<uint32_t>(::getpid())));
  EXPECT_EQ(MarkFailures(), 0u);
}

// One thread moved alone (cgroup.threads, in a threaded subtree): into a tracked cgroup it is
// marked, the other threads are not; out again (to an untracked cgroup) it is unmarked.
TEST_F(TaskMarkTest, AThreadMovedAloneIsMarkedAlone) {
  testing::TestCgroup dom("mark-threaded");
  const std::string in = dom.path() + "/in", out = dom.path() + "/out";
  struct Subtree {
    std::vector<std::string> dirs;
    ~Subtree() {
      for (const auto& d : dirs) (void)RemoveCgroup(d);
    }
  } subtree;
  auto write_to = [](const std::string& file, const std::string& v) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && ::write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
    if (fd >= 0) ::close(fd);
    return ok;
  };
  auto move_thread = [&](const std::string& dir, uint32_t tid) {
    return write_to(dir + "/cgroup.threads", std::to_string(tid));
  };
  for (const auto& d : {in, out}) {
    ASSERT_TRUE(CreateCgroup(d).ok()) << d;
    subtree.dirs.push_back(d);
    ASSERT_TRUE(write_to(d + "/cgroup.type", "threaded")) << d << ": " << std::strerror(errno);
  }
  Track(in);
  pid_t a = StartChild(dom.path(), 2);
  auto tids = Threads(a);
  ASSERT_EQ(tids.size(), 3u);
  uint32_t t1 = tids[0] == static_cast<uint32_t>(a) ? tids[1] : tids[0];
  for (uint32_t t : tids) EXPECT_FALSE(Marked(t)) << "not in a tracked cgroup yet";
  ASSERT_TRUE(move_thread(in, t1)) << std::strerror(errno);
  for (uint32_t t : tids) EXPECT_EQ(Marked(t), t == t1) << t << ": the thread moved, alone";
  ASSERT_TRUE(move_thread(out, t1)) << std::strerror(errno);
  EXPECT_FALSE(Marked(t1)) << "moved on to an untracked cgroup";
  ASSERT_TRUE(move_thread(in, t1)) << std::strerror(errno);
  ASSERT_TRUE(MoveToCgroup(dom.path(), a).ok());  // the whole process, untracked
  for (uint32_t t : tids) EXPECT_FALSE(Marked(t)) << t;
  EXPECT_EQ(MarkFailures(), 0u);
}

// A thread that outlives its leader (a zombie until the last thread is gone) keeps its own
// mark and is still checked by sys_enter (here it runs sys_enter itself, BPF_PROG_TEST_RUN in
// its own context, after its leader became a zombie).
TEST_F(TaskMarkTest, AThreadThatOutlivesItsLeaderIsStillChecked) {
  testing::TestCgroup cg("mark-leader-exit");
  uint64_t id = cg.id();
  fg_cgroup_val v{3, 0};
  ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_tracked, &id, sizeof id, &v, sizeof v, 0), 0);
  Track(cg);
  InvalidateCache(skel_);
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  int prog = bpf_program__fd(skel_->progs.fg_sys_enter);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(hold_[1]);
    ::close(ready[0]);
    if (!MoveToCgroup(cg.path(), ::getpid()).ok()) ::_exit(1);
    pid_t leader = ::getpid();
    std::thread([&, leader] {
      std::string path = absl::StrCat("/proc/", leader, "/status");
      for (int i = 0; i < 2000; ++i) {  // until the leader is a zombie (2 s at most)
        auto st = ReadFile(path);
        if (st.ok() && absl::StrContains(*st, "State:\tZ")) break;
        ::usleep(1000);
      }
      std::vector<uint64_t> args = {0, 39};
      LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(),
                  .ctx_size_in = static_cast<__u32>(args.size() * sizeof(uint64_t)));
      int r = bpf_prog_test_run_opts(prog, &opts);
      (void)!::write(ready[1], r == 0 ? "r" : "e", 1);
      char c;
      (void)!::read(hold_[0], &c, 1);
      ::_exit(0);
    }).detach();
    ::syscall(SYS_exit, 0);  // the leader alone
  }
  children_.push_back(pid);
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the thread did not report";
  ::close(ready[0]);
  EXPECT_EQ(c, 'r') << "BPF_PROG_TEST_RUN failed in the thread";
  auto st = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(absl::StrContains(*st, "State:\tZ")) << "the leader is a zombie";
  uint32_t fn = 3;
  fg_fn_state state{};
  ASSERT_EQ(bpf_map__lookup_elem(skel_->maps.fg_fn_state, &fn, sizeof fn, &state, sizeof state, 0),
            0);
  EXPECT_TRUE(state.sys[0] & (1ull << 39)) << "the thread's syscall was learned: it was checked";
  EXPECT_EQ(MarkFailures(), 0u);
  // Reaped here, not in TearDown: the cgroup goes first, and a zombie keeps it populated.
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  children_.pop_back();
}

// The mark is sys_enter's first test: an unmarked task is passed even in a tracked cgroup
// (which is why every way in must mark), a marked one is learned from.
TEST_F(TaskMarkTest, SysEnterPassesAnUnmarkedTaskAndChecksAMarkedOne) {
  testing::TestCgroup cg("mark-sys");
  std::string orig;
  if (auto o = CgroupOfPid(::getpid()); o.ok()) orig = testing::Cgroup2Mount() + *o;
  ASSERT_TRUE(MoveToCgroup(cg.path(), ::getpid()).ok());  // untracked yet: no mark
  uint64_t id = cg.id();
  fg_cgroup_val v{3, 0};
  ASSERT_EQ(bpf_map__update_elem(skel_->maps.fg_tracked, &id, sizeof id, &v, sizeof v, 0), 0);
  Track(cg, /*iterate=*/false);
  InvalidateCache(skel_);
  std::vector<uint64_t> args = {0, 39};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(),
              .ctx_size_in = static_cast<__u32>(args.size() * sizeof(uint64_t)));
  auto state = [&] {
    uint32_t fn = 3;
    fg_fn_state st{};
    EXPECT_EQ(bpf_map__lookup_elem(skel_->maps.fg_fn_state, &fn, sizeof fn, &st, sizeof st, 0), 0);
    return st;
  };
  ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.fg_sys_enter), &opts), 0);
  EXPECT_EQ(state().sys[0], 0u) << "no mark: passed at the first load";
  auto marked = MarkTrackedTasks(bpf_program__fd(skel_->progs.fg_mark_tasks));
  ASSERT_TRUE(marked.ok());
  EXPECT_TRUE(Marked(static_cast<uint32_t>(::getpid())));
  ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.fg_sys_enter), &opts), 0);
  EXPECT_TRUE(state().sys[0] & (1ull << 39)) << "marked: learned";
  EXPECT_TRUE(MoveToCgroup(orig, ::getpid()).ok());
}

INSTANTIATE_TEST_SUITE_P(Lookup, BpfProgTest,
                         ::testing::Values(Lookup::kHashMap, Lookup::kCgroupStorage,
                                           Lookup::kTaskMark),
                         [](const ::testing::TestParamInfo<Lookup>& i) {
                           switch (i.param) {
                             case Lookup::kHashMap:
                               return "HashMap";
                             case Lookup::kCgroupStorage:
                               return "CgroupStorage";
                             default:
                               return "TaskMark";
                           }
                         });

}  // namespace
}  // namespace faasguard
