// What functions did: violations and the event stream.
#include <signal.h>

#include <atomic>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "ctl/actions/actions.h"
#include "ctl/format.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard::actions {
namespace {

// 0 when no function is named or the one named exists: a list of an unknown function's
// violations or events would be empty, which reads as "all is well".
int CheckNamedFunction(Invocation& in) {
  return in.function ? in.CheckFunctionExists(*in.function) : kExitOk;
}

// A number flag from `min` to `max`, or `def` when not given.
absl::StatusOr<uint32_t> NumberFlag(const ParsedArgs& a, const std::string& flag, uint32_t min,
                                    uint32_t max, uint32_t def) {
  uint32_t v = def;
  if (a.Has(flag) && (!absl::SimpleAtoi(a.Get(flag), &v) || v < min || v > max))
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be a number from ", min, " to ", max));
  return v;
}

volatile sig_atomic_t g_stop_events = 0;
void StopEvents(int) { g_stop_events = 1; }

}  // namespace

int Violations(Invocation& in) {
  auto limit = NumberFlag(in.args, "limit", 1, 10000, 100);
  if (!limit.ok()) return in.Usage(limit.status().message());
  if (int code = CheckNamedFunction(in)) return code;
  const std::optional<v1::FunctionId>& id = in.function;
  v1::ListViolationsRequest req;
  if (id) *req.mutable_function() = *id;
  // One namespace: the newest `limit` of that namespace's, from as many as the agent keeps.
  const bool by_namespace = !id && !in.ns.empty();
  req.set_limit(by_namespace ? 10000 : *limit);
  v1::ListViolationsResponse r;
  if (int code = in.Call(&v1::Agent::Stub::ListViolations, req, &r)) return code;
  if (by_namespace) {
    auto* vs = r.mutable_violations();
    vs->erase(
        std::remove_if(vs->begin(), vs->end(),
                       [&](const v1::Violation& v) { return v.function().namespace_() != in.ns; }),
        vs->end());
    if (vs->size() > static_cast<int>(*limit)) vs->DeleteSubrange(0, vs->size() - *limit);
  }
  in.out << (in.output == "json" ? MessageToJson(r) + "\n"
                                 : RenderViolations(r, absl::Now(), in.output == "wide"));
  return kExitOk;
}

int Events(Invocation& in) {
  std::vector<v1::EventKind> kinds;
  for (const auto& value : in.args.GetAll("kind")) {
    for (absl::string_view k : absl::StrSplit(value, ',')) {
      auto kind = ParseEventKind(k);
      if (!kind.ok()) return in.Usage(kind.status().message());
      kinds.push_back(*kind);
    }
  }
  auto replay = NumberFlag(in.args, "replay", 0, 1000, 20);
  if (!replay.ok()) return in.Usage(replay.status().message());
  if (int code = CheckNamedFunction(in)) return code;
  const std::optional<v1::FunctionId>& id = in.function;
  CallError e;
  if (int code = in.client.Connect(&e)) return in.Fail(e.message, code);

  v1::StreamEventsRequest req;
  if (id) *req.mutable_function() = *id;
  for (v1::EventKind k : kinds) req.add_kinds(k);
  req.set_replay(*replay);
  const bool follow = in.args.Has("follow");
  req.set_follow(follow);
  auto ctx = in.client.Context(/*stream=*/true);
  grpc::ClientContext* raw = ctx.get();
  struct sigaction sa {};
  sa.sa_handler = StopEvents;
  if (follow) {
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    in.err << "following events"
           << (id               ? " of " + FunctionRef(*id)
               : !in.ns.empty() ? " in namespace " + in.ns
                                : std::string())
           << " at " << in.client.where() << " (Ctrl-C to stop)\n";
  }
  std::atomic<bool> done{false};
  std::thread canceller([&] {
    while (!done.load()) {
      if (g_stop_events) {
        raw->TryCancel();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto reader = in.client.stub().StreamEvents(raw, req);
  v1::AgentEvent ev;
  uint64_t n = 0, lost = 0;
  while (reader->Read(&ev)) {
    lost += ev.dropped();
    if (!in.ns.empty() && ev.function().namespace_() != in.ns) continue;
    ++n;
    in.out << (in.output == "json" ? MessageToJson(ev, false) + "\n" : RenderEvent(ev));
    in.out.flush();
  }
  grpc::Status s = reader->Finish();
  done.store(true);
  canceller.join();
  if (follow) in.err << n << " events" << (lost ? absl::StrCat(", ", lost, " lost") : "") << "\n";
  if (!s.ok() && !(g_stop_events && s.error_code() == grpc::StatusCode::CANCELLED)) {
    int code = in.client.Check(s, &e);
    return in.Fail(e.message, code);
  }
  return kExitOk;
}

}  // namespace faasguard::actions
