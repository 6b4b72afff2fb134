#include "ctl/format.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "core/abi_codec.h"
#include "core/sock_codec.h"
#include "google/protobuf/struct.pb.h"
#include "profile/files.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {

std::string ModeName(v1::Mode m) { return ModeWord(m); }

std::string SyscallActionsNote(v1::SyscallAction unlearned, v1::SyscallAction sensitive) {
  if (unlearned == v1::SYSCALL_ACTION_DEFAULT && sensitive == v1::SYSCALL_ACTION_DEFAULT) return "";
  return absl::StrCat(" (syscalls: ", SyscallActionWord(EffectiveUnlearnedAction(unlearned)),
                      ", sensitive: ", SyscallActionWord(EffectiveSensitiveAction(sensitive)), ")");
}

absl::StatusOr<v1::Mode> ParseModeName(absl::string_view name) {
  if (auto m = ParseModeWord(name)) return *m;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown mode \"", name, "\" (learn, monitor or enforce)"));
}

absl::StatusOr<v1::EventKind> ParseEventKind(absl::string_view name) {
  if (name == "new") return v1::EVENT_KIND_NEW_BEHAVIOUR;
  if (name == "violation") return v1::EVENT_KIND_VIOLATION;
  if (name == "lifecycle") return v1::EVENT_KIND_LIFECYCLE;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown event kind \"", name, "\" (new, violation, lifecycle)"));
}

std::string Ago(const google::protobuf::Timestamp& t, absl::Time now) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  absl::Duration d = now - FromProtoTime(t);
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  int64_t s = absl::ToInt64Seconds(d);
  if (s < 60) return absl::StrCat(s, "s ago");
  if (s < 3600) return absl::StrCat(s / 60, "m ago");
  if (s < 86400) return absl::StrCat(s / 3600, "h ago");
  return absl::StrCat(s / 86400, "d ago");
}

std::string RenderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    if (w.size() < r.size()) w.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    out += std::string(absl::StripTrailingAsciiWhitespace(line)) + "\n";
  }
  return out;
}

std::string RenderFunctions(const v1::ListFunctionsResponse& r, absl::Time now,
                            const std::string& ns) {
  std::vector<std::vector<std::string>> rows = {{"NAMESPACE", "NAME", "PLATFORM", "MODE",
                                                 "CONTAINERS", "REPLICAS", "SYSCALLS", "EXECS",
                                                 "EGRESS", "LISTEN", "INGRESS", "LAST NEW"}};
  for (const auto& f : r.functions()) {
    rows.push_back({f.function().namespace_(), f.function().name(), f.function().platform(),
                    ModeName(f.mode()), absl::StrJoin(f.containers(), ","),
                    absl::StrCat(f.replicas()), absl::StrCat(f.syscalls()), absl::StrCat(f.execs()),
                    absl::StrCat(f.egress()), absl::StrCat(f.listen()), absl::StrCat(f.ingress()),
                    Ago(f.last_new_behaviour(), now)});
  }
  if (r.functions().empty())
    return ns.empty() ? "No functions on this node.\n"
                      : absl::StrCat("No functions in namespace ", ns, " on this node.\n");
  return RenderTable(rows);
}

namespace {

std::string Proto(v1::Protocol p) {
  const std::string& name = v1::Protocol_Name(p);
  absl::string_view n = name;
  absl::ConsumePrefix(&n, "PROTOCOL_");
  return absl::AsciiStrToLower(n);
}

std::string KindSuffix(v1::PathKind k) {
  switch (k) {
    case v1::PATH_KIND_DELETED:
      return " (deleted)";
    case v1::PATH_KIND_ANONYMOUS:
      return " (anonymous file)";
    case v1::PATH_KIND_TRUNCATED:
      return " (truncated)";
    default:
      return "";
  }
}

std::string HostPort(const std::string& addr, uint32_t port) {
  std::string p = port ? absl::StrCat(port) : "*";
  if (addr.find(':') != std::string::npos) return absl::StrCat("[", addr, "]:", p);
  return absl::StrCat(addr, ":", p);
}

// A file item on one line: path, kind, access ("/tmp/*  read,write,create").
std::string FileLine(const v1::FileEntry& f) {
  return absl::StrCat(f.path(), KindSuffix(f.kind()), f.hard_linked() ? " (hard-linked)" : "", "  ",
                      FileAccessWords(FileAccessMask(f)));
}

std::string DnsQueryLine(const v1::DnsQuery& q) {
  return absl::StrCat(q.name(), "  ", absl::StrJoin(q.types(), ","),
                      q.nxdomain() ? "  NXDOMAIN" : "");
}

// Egress by name and the names queried, in `faasguardctl profile show`.
void RenderDnsSection(const v1::ContainerProfile& c, std::string* o) {
  if (c.named_egress_size()) {
    absl::StrAppend(o, "  Egress by name (", c.named_egress_size(), "):\n");
    for (const auto& n : c.named_egress()) {
      absl::StrAppend(o, "    ", Proto(n.protocol()), " ", HostPort(n.name(), n.port()), "  x",
                      n.seen().count());
      if (n.addresses_size())
        absl::StrAppend(o, "  (last reached at ", absl::StrJoin(n.addresses(), ", "), ")");
      absl::StrAppend(o, "\n");
    }
  }
  if (c.dns_queries_size()) {
    absl::StrAppend(o, "  DNS queries (", c.dns_queries_size(), "):\n");
    for (const auto& q : c.dns_queries())
      absl::StrAppend(o, "    ", DnsQueryLine(q), "  x", q.seen().count(), "\n");
  }
}

}  // namespace

// The socket items of a section, one line each: "<indent><kind> <words><suffix>".
template <typename Line>
void ForEachSocketItem(const v1::ContainerProfile& c, Line line) {
  for (const auto& x : c.unix_peers()) line("unix   ", SockEntry(x), x.seen().count());
  for (const auto& x : c.sockets()) line("socket ", SockEntry(x), x.seen().count());
  for (const auto& x : c.inbound()) line("inbound", SockEntry(x), x.seen().count());
  for (const auto& x : c.socket_options()) line("sockopt", SockEntry(x), x.seen().count());
}

std::string RenderProfile(const v1::Profile& p) {
  std::string o;
  absl::StrAppend(
      &o, "Function:  ", FunctionRef(p.function()), " (", p.function().platform(), ")\n",
      "Mode:      ", ModeName(p.mode()),
      SyscallActionsNote(p.syscall_action(), p.sensitive_syscall_action()),
      p.when_agent_absent() == v1::AGENT_ABSENCE_FAIL_OPEN ? " (fails open without agent)" : "",
      "\n");
  auto when = [](const google::protobuf::Timestamp& t) {
    return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", FromProtoTime(t), absl::UTCTimeZone());
  };
  if (p.has_created()) absl::StrAppend(&o, "Created:   ", when(p.created()), "\n");
  if (p.has_updated()) absl::StrAppend(&o, "Last new:  ", when(p.updated()), "\n");
  for (const auto& c : p.containers()) {
    absl::StrAppend(&o, "\nContainer ", c.name(), "\n");
    std::map<std::string, std::vector<std::string>> by_arch;
    for (const auto& s : c.syscalls()) by_arch[s.arch()].push_back(s.name());
    for (auto& [arch, names] : by_arch) {
      std::sort(names.begin(), names.end());
      absl::StrAppend(&o, "  Syscalls (", arch, ", ", names.size(), "):\n");
      std::string line = "   ";
      for (const auto& n : names) {
        if (line.size() + n.size() + 1 > 98) {
          absl::StrAppend(&o, line, "\n");
          line = "   ";
        }
        absl::StrAppend(&line, " ", n);
      }
      absl::StrAppend(&o, line, "\n");
    }
    if (c.io_uring_size()) {
      std::vector<std::string> ops;
      for (const auto& op : c.io_uring()) ops.push_back(op.name());
      absl::StrAppend(&o, "  io_uring (", ops.size(), "): ", absl::StrJoin(ops, " "), "\n");
    }
    if (c.execs_size()) {
      absl::StrAppend(&o, "  Executed (", c.execs_size(), "):\n");
      for (const auto& x : c.execs()) {
        absl::StrAppend(&o, "    ", x.path(), KindSuffix(x.kind()), "  <- ",
                        x.parent().empty() ? "(kernel)" : x.parent(), KindSuffix(x.parent_kind()),
                        "  x", x.seen().count());
        if (x.uids_size()) absl::StrAppend(&o, "  uid ", absl::StrJoin(x.uids(), ","));
        if (!x.script().empty())
          absl::StrAppend(&o, "  script ", x.script(), RelativeScript(x) ? " (by name)" : "");
        if (x.sample_args_size())
          absl::StrAppend(&o, "  args: ", absl::StrJoin(x.sample_args(), " ").substr(0, 80));
        absl::StrAppend(&o, "\n");
      }
    }
    if (c.listen_size()) {
      absl::StrAppend(&o, "  Listening (", c.listen_size(), "):\n");
      for (const auto& n : c.listen())
        absl::StrAppend(&o, "    ", Proto(n.protocol()), "/",
                        n.port() ? absl::StrCat(n.port()) : std::string("*"), "\n");
    }
    if (c.egress_size()) {
      absl::StrAppend(&o, "  Egress (", c.egress_size(), "):\n");
      for (const auto& n : c.egress())
        absl::StrAppend(&o, "    ", Proto(n.protocol()), " ", HostPort(n.address(), n.port()),
                        "  x", n.seen().count(), "\n");
    }
    if (c.ingress_size()) {
      absl::StrAppend(&o, "  Ingress (", c.ingress_size(), "):\n");
      for (const auto& n : c.ingress())
        absl::StrAppend(&o, "    ", Proto(n.protocol()), " from ", n.address(), " to port ",
                        n.port(), "  x", n.seen().count(), "\n");
    }
    if (c.files_size()) {
      absl::StrAppend(&o, "  Files (", c.files_size(), "):\n");
      for (const auto& f : c.files())
        absl::StrAppend(&o, "    ", FileLine(f), "  x", f.seen().count(), "\n");
    }
    RenderDnsSection(c, &o);
    const int socket_items =
        c.unix_peers_size() + c.sockets_size() + c.inbound_size() + c.socket_options_size();
    if (socket_items) {
      absl::StrAppend(&o, "  Sockets (", socket_items, "):\n");
      ForEachSocketItem(c, [&](const char* kind, const SockEntry& e, uint64_t count) {
        absl::StrAppend(&o, "    ", kind, " ", SockEntryWords(e), "  x", count, "\n");
      });
    }
    absl::StrAppend(&o, "  Counters: execs ", c.counters().execs(), ", forks ",
                    c.counters().forks(), ", exits ", c.counters().exits(), "\n");
  }
  return o;
}

std::string RenderStatus(const v1::GetStatusResponse& s) {
  std::string o;
  absl::StrAppend(
      &o, "Agent:      faasguard ", s.version(), " on ", s.node(), "\n", "Kernel:     ", s.kernel(),
      "\n", "cgroup v2:  ", s.cgroup2_mount(), "\n", "State dir:  ", s.state_dir(), "\n",
      "Functions:  ", s.functions(), " (tracked cgroups: ", s.tracked_cgroups(),
      ", stable: ", s.stable_functions(), ")\n", "New functions start in ",
      ModeName(s.default_mode()), " mode",
      s.auto_promote().empty() ? "" : "; stable ones are promoted to ", s.auto_promote(), "\n",
      "Stable:     nothing new for ", s.stable_window_seconds(), "s after ",
      s.stable_min_observations(), " observations\n",
      "API:        ", absl::StrJoin(s.listen(), ", "), "\n",
      "Metrics:    ", s.metrics_addr().empty() ? "off" : s.metrics_addr(), "\n", "sys_enter:  ",
      s.syscall_hook_attached() ? absl::StrCat("attached (", s.cgroups_needing_syscall_hook(),
                                               " tracked cgroups run without their seccomp filter)")
                                : "detached (every tracked cgroup runs under its seccomp filter)",
      "\n", "Seccomp:    profiles ",
      s.seccomp_root().empty() ? "not written" : "in " + s.seccomp_root(), "; webhook ",
      s.webhook_addr().empty() ? "off" : s.webhook_addr(), "\n\nKernel features:\n");
  for (const auto& f : s.features())
    absl::StrAppend(&o, "  ", f.available() ? "yes " : "no  ", f.name(), "  ", f.detail(), "\n");
  absl::StrAppend(&o, "\nPrograms attached (", s.programs_size(), "):\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : s.programs()) rows.push_back({"  " + p.name(), p.type(), p.target()});
  absl::StrAppend(&o, RenderTable(rows), "\nCounters:\n");
  rows.clear();
  for (const auto& c : s.counters()) rows.push_back({"  " + c.name(), absl::StrCat(c.value())});
  absl::StrAppend(&o, RenderTable(rows));
  if (s.has_kubernetes()) {
    const auto& k = s.kubernetes();
    absl::StrAppend(
        &o, "\nKubernetes (CRI): ",
        k.connected() ? absl::StrCat(k.runtime(), " at ", k.endpoint()) : "not connected",
        k.last_error().empty() ? "" : absl::StrCat(" (", k.last_error(), ")"), "\n", "  pods ",
        k.pods(), ", function pods ", k.function_pods(), ", cgroups tracked ", k.tracked(),
        k.event_stream() ? ", container events streamed" : ", polled", "\n");
  }
  if (s.has_cluster_sync()) {
    const auto& c = s.cluster_sync();
    absl::StrAppend(&o, "\nCluster profiles: ", c.server(), " as node ", c.node(), "\n",
                    "  published ", c.published(), ", unchanged ", c.unchanged(), ", conflicts ",
                    c.conflicts(), ", taken from the cluster ", c.taken(), ", lists ", c.relists(),
                    ", errors ", c.errors(), "\n");
    if (!c.last_error().empty()) absl::StrAppend(&o, "  last error: ", c.last_error(), "\n");
  }
  return o;
}

namespace {

// At most `max` characters, cut at the front (the end of a path says most): "...bin/touch".
std::string KeepEnd(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  return "..." + s.substr(s.size() - (max - 3));
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string RenderViolations(const v1::ListViolationsResponse& r, absl::Time now, bool wide) {
  if (r.violations().empty()) {
    return r.dropped() ? absl::StrCat("No violations kept (", r.dropped(),
                                      " were over the per-function budget and only counted).\n")
                       : "No violations.\n";
  }
  std::vector<std::vector<std::string>> rows;
  if (wide)
    rows.push_back({"ID", "WHEN", "FUNCTION", "CONTAINER", "PID", "UID", "KIND", "ATTEMPTED",
                    "BINARY", "PARENT", "ACTION", "ACCEPTED"});
  else
    rows.push_back(
        {"ID", "WHEN", "FUNCTION", "CONTAINER", "PID", "KIND", "ATTEMPTED", "BY", "ACTION"});
  for (const auto& v : r.violations()) {
    std::vector<std::string> row = {absl::StrCat(v.id()), Ago(v.time(), now),
                                    FunctionRef(v.function()), v.container(),
                                    absl::StrCat(v.pid())};
    if (wide) {
      row.insert(row.end(),
                 {absl::StrCat(v.uid()), v.kind(), v.attempted(), v.binary(), v.parent()});
    } else {
      // Who did it: for an exec the binary is what was attempted, so its parent.
      std::string by = BaseName(v.kind() == "exec" ? v.parent() : v.binary());
      row.insert(row.end(),
                 {v.kind(), KeepEnd(v.attempted(), 40), KeepEnd(by.empty() ? v.comm() : by, 16)});
    }
    if (wide) {
      row.push_back(v.action());
      row.push_back(v.accepted() ? "yes" : "no");
    } else {
      row.push_back(v.accepted() ? v.action() + " (accepted)" : v.action());
    }
    rows.push_back(std::move(row));
  }
  std::string out = RenderTable(rows);
  if (r.dropped())
    absl::StrAppend(&out, r.dropped(),
                    " more were over the per-function budget of records and only counted.\n");
  return out;
}

std::string RenderFunction(const v1::FunctionSummary& f, absl::Time now) {
  std::string o;
  const v1::Lifecycle& lc = f.lifecycle();
  absl::StrAppend(
      &o, "Function:    ", FunctionRef(f.function()), " (", f.function().platform(), ")\n",
      "Mode:        ", ModeName(f.mode()),
      SyscallActionsNote(f.syscall_action(), f.sensitive_syscall_action()),
      f.when_agent_absent() == v1::AGENT_ABSENCE_FAIL_OPEN ? " (fails open without agent)" : "",
      "\n", "Containers:  ", absl::StrJoin(f.containers(), ", "), "\n",
      "Replicas:    ", f.replicas(), "\n", "Learned:     ", f.syscalls(), " syscalls, ", f.execs(),
      " execs, ", f.egress(), " egress, ", f.listen(), " listen, ", f.ingress(), " ingress\n");
  if (lc.has_learning_started())
    absl::StrAppend(&o, "Learning:    since ", Ago(lc.learning_started(), now), "\n");
  absl::StrAppend(&o, "Observed:    ", lc.observations(), " (", lc.execs(), " execs, ",
                  lc.connections(), " connections, ", lc.requests(), " requests)\n",
                  "Last new:    ", Ago(f.last_new_behaviour(), now), "\n", "Stable:      ",
                  f.mode() != v1::MODE_LEARN ? "- (not learning)"
                  : lc.stable()              ? "yes"
                                             : "no",
                  "  (nothing new for ", lc.stable_window_seconds(), "s after ",
                  lc.stable_min_observations(), " observations)\n",
                  "Violations:  ", f.violations());
  if (f.violations()) {
    std::vector<std::string> parts;
    for (const auto& c : f.violations_by_kind())
      if (c.value()) parts.push_back(absl::StrCat(c.name(), " ", c.value()));
    absl::StrAppend(&o, " (", absl::StrJoin(parts, ", "), ")");
  }
  // What the kernel counted and what `violations` can list are different numbers: say both.
  if (f.violations() || f.violations_recorded()) {
    absl::StrAppend(&o, "; ", f.violations_recorded(), " recorded (faasguardctl violations)");
    if (f.violations_unrecorded())
      absl::StrAppend(&o, ", ", f.violations_unrecorded(),
                      " only counted (over the budget of records)");
  }
  absl::StrAppend(&o, "\n");
  if (f.mode() == v1::MODE_ENFORCE)
    absl::StrAppend(&o, "Seccomp:     ",
                    f.seccomp_revision().empty()
                        ? "- (the filter alone cannot enforce these actions: sys_enter checks)"
                        : "filter " + f.seccomp_revision() + " for new replicas",
                    "\n");
  for (const auto& r : f.replica_details())
    absl::StrAppend(&o, "  replica ", r.container(), " ", r.cgroup(), ": ",
                    r.seccomp_revision().empty()
                        ? "no faasguard filter known, sys_enter checks its syscalls"
                        : "seccomp filter " + r.seccomp_revision(),
                    "\n");
  return o;
}

namespace {

void RenderItems(const v1::ContainerProfile& c, const char* sign, std::string* o) {
  for (const auto& s : c.syscalls())
    absl::StrAppend(o, "  ", sign, " syscall ", s.name(), " (", s.arch(), ")\n");
  for (const auto& x : c.execs())
    absl::StrAppend(o, "  ", sign, " exec    ", x.path(), " <- ",
                    x.parent().empty() ? "(kernel)" : x.parent(),
                    x.script().empty() ? "" : " script " + x.script(), "\n");
  for (const auto& n : c.egress())
    absl::StrAppend(o, "  ", sign, " egress  ", Proto(n.protocol()), " ",
                    HostPort(n.address(), n.port()), "\n");
  for (const auto& n : c.listen())
    absl::StrAppend(o, "  ", sign, " listen  ", Proto(n.protocol()), "/",
                    n.port() ? absl::StrCat(n.port()) : std::string("*"), "\n");
  for (const auto& n : c.ingress())
    absl::StrAppend(o, "  ", sign, " ingress ", Proto(n.protocol()), " from ", n.address(),
                    " to port ", n.port(), "\n");
  for (const auto& f : c.files()) absl::StrAppend(o, "  ", sign, " file    ", FileLine(f), "\n");
  for (const auto& n : c.named_egress())
    absl::StrAppend(o, "  ", sign, " egress  ", Proto(n.protocol()), " ",
                    HostPort(n.name(), n.port()), " (by name)\n");
  for (const auto& q : c.dns_queries())
    absl::StrAppend(o, "  ", sign, " dns     ", DnsQueryLine(q), "\n");
  ForEachSocketItem(c, [&](const char* kind, const SockEntry& e, uint64_t) {
    absl::StrAppend(o, "  ", sign, " ", kind, " ", SockEntryWords(e), "\n");
  });
  for (const auto& op : c.io_uring()) absl::StrAppend(o, "  ", sign, " io_uring ", op.name(), "\n");
}

}  // namespace

std::string RenderDiff(const v1::DiffProfileResponse& d, const std::string& agent_side,
                       const std::string& file_side) {
  if (d.identical())
    return absl::StrCat("identical: ", agent_side, " and ", file_side, " hold the same items\n");
  std::string o = absl::StrCat("+ only in ", file_side, "\n- only in ", agent_side, "\n");
  std::map<std::string, std::pair<const v1::ContainerProfile*, const v1::ContainerProfile*>> by;
  for (const auto& c : d.added()) by[c.name()].first = &c;
  for (const auto& c : d.removed()) by[c.name()].second = &c;
  for (const auto& [name, pair] : by) {
    absl::StrAppend(&o, "\nContainer ", name, "\n");
    if (pair.first) RenderItems(*pair.first, "+", &o);
    if (pair.second) RenderItems(*pair.second, "-", &o);
  }
  return o;
}

std::string RenderEvent(const v1::AgentEvent& e) {
  std::string o;
  if (e.dropped())
    absl::StrAppend(&o, "... ", e.dropped(), " events lost (this client read too slowly)\n");
  const char* kind = e.kind() == v1::EVENT_KIND_NEW_BEHAVIOUR ? "new"
                     : e.kind() == v1::EVENT_KIND_VIOLATION   ? "VIOLATION"
                                                              : "lifecycle";
  std::string detail = e.detail();
  if (e.kind() == v1::EVENT_KIND_VIOLATION)
    detail = absl::StrCat(e.violation().attempted(), " by ", e.violation().binary(), " pid ",
                          e.violation().pid(), ": ", e.violation().action(), " (id ",
                          e.violation().id(), ")");
  absl::StrAppend(
      &o, absl::FormatTime("%H:%M:%E3S", FromProtoTime(e.time()), absl::LocalTimeZone()), "  ",
      kind, "  ", FunctionRef(e.function()), e.container().empty() ? "" : "/" + e.container(), "  ",
      e.what(), "  ", detail, "\n");
  return o;
}

std::string RenderImportResult(const v1::PutProfileResponse& r, bool merge) {
  const char* verb = r.created() ? "create" : merge ? "merge" : "replace";
  std::string mode = ModeName(r.mode());
  if (r.previous_mode() != v1::MODE_UNSPECIFIED && r.previous_mode() != r.mode())
    mode = absl::StrCat(": ", ModeName(r.previous_mode()), " -> ", mode);
  else
    mode = " " + mode;
  return r.dry_run() ? absl::StrCat("would ", verb, ", ", r.items(), " items, mode", mode)
                     : absl::StrCat(verb, "d, ", r.items(), " items, mode", mode);
}

std::string RenderImportPreview(const v1::PutProfileResponse& r, const std::string& agent_side,
                                const std::string& file_side) {
  std::string o = RenderDiff(r.diff(), agent_side, file_side);
  if (r.created())
    absl::StrAppend(&o, "mode: ", ModeName(r.mode()), " (a new function)\n");
  else if (r.previous_mode() != r.mode())
    absl::StrAppend(&o, "mode: ", ModeName(r.previous_mode()), " -> ", ModeName(r.mode()), "\n");
  else
    absl::StrAppend(&o, "mode: ", ModeName(r.mode()), " (unchanged)\n");
  return o;
}

std::string RenderVersion(absl::string_view client_version, const v1::GetStatusResponse* agent,
                          const std::string& where, bool json) {
  if (json) {
    google::protobuf::Struct doc;
    auto& fields = *doc.mutable_fields();
    auto& client = *fields["client"].mutable_struct_value()->mutable_fields();
    client["version"].set_string_value(std::string(client_version));
    if (agent) {
      auto& a = *fields["agent"].mutable_struct_value()->mutable_fields();
      a["version"].set_string_value(agent->version());
      a["node"].set_string_value(agent->node());
      a["address"].set_string_value(where);
    }
    return MessageToJson(doc) + "\n";
  }
  std::string o = absl::StrCat("Client: faasguardctl ", client_version, "\n");
  if (agent)
    absl::StrAppend(&o, "Agent:  faasguard-agent ", agent->version(), " on ", agent->node(), " (",
                    where, ")\n");
  return o;
}

}  // namespace faasguard
