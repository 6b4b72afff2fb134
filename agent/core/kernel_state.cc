#include "core/kernel_state.h"

#include <cstring>

#include "common/files.h"
#include "common/status.h"

namespace faasguard {

absl::Status KernelStateRecord::Write(const v1::KernelState& st) {
  if (path_.empty()) return absl::OkStatus();
  std::string bytes;
  if (!st.SerializeToString(&bytes)) return absl::InternalError("kernel-state record: serialize");
  if (bytes == written_) return absl::OkStatus();
  FG_RETURN_IF_ERROR(WriteFileAtomic(path_, bytes));
  written_ = std::move(bytes);
  return absl::OkStatus();
}

void RecordFoldBase(const FoldBase& base, v1::SlotState* ss) {
  ss->set_execs_base(base.execs);
  ss->set_forks_base(base.forks);
  ss->set_exits_base(base.exits);
  for (uint64_t w : base.sys.sys) ss->add_sys_base(w);
  for (uint64_t w : base.sys.sys_compat) ss->add_sys_base(w);
  for (const auto& [k, count] : base.exec) {
    v1::ExecBase* e = ss->add_exec_base();
    e->set_parent(std::get<0>(k));
    e->set_bin(std::get<1>(k));
    e->set_script(std::get<2>(k));
    e->set_count(count);
  }
  for (const auto& [k, count] : base.net) {
    v1::NetBase* n = ss->add_net_base();
    n->set_key(std::string(k.begin(), k.end()));
    n->set_count(count);
  }
  for (const auto& [k, count] : base.file) {
    v1::FileBase* f = ss->add_file_base();
    f->set_access(k.first);
    f->set_hash(k.second);
    f->set_count(count);
  }
  for (const auto& [k, count] : base.sock) {
    v1::NetBase* n = ss->add_sock_base();
    n->set_key(std::string(k.begin(), k.end()));
    n->set_count(count);
  }
  for (auto [from, to] : {std::pair{&base.dns_query, ss->mutable_dns_query_base()},
                          std::pair{&base.dns_conn, ss->mutable_dns_conn_base()}}) {
    for (const auto& [k, count] : *from) {
      v1::NetBase* n = to->Add();
      n->set_key(k);
      n->set_count(count);
    }
  }
}

FoldBase FoldBaseFromRecord(const v1::SlotState& ss) {
  FoldBase b;
  b.execs = ss.execs_base();
  b.forks = ss.forks_base();
  b.exits = ss.exits_base();
  for (int i = 0; i < ss.sys_base_size() && i < 2 * FG_SYS_WORDS; ++i)
    (i < FG_SYS_WORDS ? b.sys.sys[i] : b.sys.sys_compat[i - FG_SYS_WORDS]) = ss.sys_base(i);
  for (const auto& e : ss.exec_base())
    b.exec[std::make_tuple(e.parent(), e.bin(), e.script())] = e.count();
  for (const auto& n : ss.net_base()) {
    NetKeyBytes k{};
    if (n.key().size() != k.size()) continue;
    std::memcpy(k.data(), n.key().data(), k.size());
    b.net[k] = n.count();
  }
  for (const auto& f : ss.file_base()) b.file[{f.access(), f.hash()}] = f.count();
  for (const auto& n : ss.sock_base()) {
    SockKeyBytes k{};
    if (n.key().size() != k.size()) continue;
    std::memcpy(k.data(), n.key().data(), k.size());
    b.sock[k] = n.count();
  }
  for (const auto& n : ss.dns_query_base())
    if (n.key().size() == sizeof(fg_dns_query_key)) b.dns_query[n.key()] = n.count();
  for (const auto& n : ss.dns_conn_base())
    if (n.key().size() == sizeof(fg_dns_conn_key)) b.dns_conn[n.key()] = n.count();
  return b;
}

}  // namespace faasguard
