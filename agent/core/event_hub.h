// Fan-out of agent events (new behaviour, violations, lifecycle) to streaming API clients.
// Publishing never blocks: each client has its own bounded queue, and a client that reads
// too slowly loses its own oldest events (and is told how many), never anyone else's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "faasguard/v1/agent.pb.h"

namespace faasguard {

class EventHub {
 public:
  struct Filter {
    std::optional<std::string> function;  // "ns/name"
    std::set<int> kinds;                  // v1::EventKind values; empty: all
    bool Matches(const v1::AgentEvent& e) const;
  };

  class Subscription {
   public:
    explicit Subscription(Filter f, size_t capacity) : filter_(std::move(f)), capacity_(capacity) {}
    // Events queued for this client, waiting up to `timeout` for the first one. The first event
    // after a loss carries the number lost in `dropped`.
    std::vector<v1::AgentEvent> Next(absl::Duration timeout);
    uint64_t dropped_total() const;
    void Close();

   private:
    friend class EventHub;
    void Push(const v1::AgentEvent& e);

    const Filter filter_;
    const size_t capacity_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<v1::AgentEvent> queue_;
    uint64_t dropped_pending_ = 0;
    uint64_t dropped_total_ = 0;
    bool closed_ = false;
  };

  explicit EventHub(size_t history = 1000, size_t client_capacity = 1024);

  // Stamps seq and time (when unset) and hands the event to every matching client.
  void Publish(v1::AgentEvent e);

  // A new client; `replay` recent matching events (at most the history) are returned.
  std::shared_ptr<Subscription> Subscribe(Filter f, size_t replay,
                                          std::vector<v1::AgentEvent>* replayed);
  void Unsubscribe(const std::shared_ptr<Subscription>& s);
  // Wake every client up for good (agent shutdown).
  void CloseAll();

  size_t clients();
  uint64_t published();

 private:
  const size_t history_cap_;
  const size_t client_capacity_;
  std::mutex mu_;
  std::deque<v1::AgentEvent> history_;
  std::vector<std::shared_ptr<Subscription>> subs_;
  uint64_t seq_ = 0;
};

}  // namespace faasguard
