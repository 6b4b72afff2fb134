#include "core/event_hub.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "profile/names.h"
#include "profile/profile.h"

namespace faasguard {

bool EventHub::Filter::Matches(const v1::AgentEvent& e) const {
  if (function && FunctionKey(e.function()) != *function) return false;
  return kinds.empty() || kinds.count(e.kind()) > 0;
}

void EventHub::Subscription::Push(const v1::AgentEvent& e) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return;
    if (queue_.size() >= capacity_) {
      queue_.pop_front();
      ++dropped_pending_;
      ++dropped_total_;
    }
    queue_.push_back(e);
  }
  cv_.notify_one();
}

std::vector<v1::AgentEvent> EventHub::Subscription::Next(absl::Duration timeout) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, absl::ToChronoNanoseconds(timeout), [&] { return !queue_.empty() || closed_; });
  std::vector<v1::AgentEvent> out(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.end()));
  queue_.clear();
  if (!out.empty() && dropped_pending_) {
    out.front().set_dropped(dropped_pending_);
    dropped_pending_ = 0;
  }
  return out;
}

uint64_t EventHub::Subscription::dropped_total() const {
  std::lock_guard<std::mutex> l(mu_);
  return dropped_total_;
}

void EventHub::Subscription::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

EventHub::EventHub(size_t history, size_t client_capacity)
    : history_cap_(history), client_capacity_(client_capacity) {}

void EventHub::Publish(v1::AgentEvent e) {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard<std::mutex> l(mu_);
    e.set_seq(++seq_);
    if (!e.has_time()) *e.mutable_time() = ToProtoTime(absl::Now());
    history_.push_back(e);
    if (history_.size() > history_cap_) history_.pop_front();
    subs = subs_;
  }
  for (auto& s : subs)
    if (s->filter_.Matches(e)) s->Push(e);
}

std::shared_ptr<EventHub::Subscription> EventHub::Subscribe(Filter f, size_t replay,
                                                            std::vector<v1::AgentEvent>* replayed) {
  auto s = std::make_shared<Subscription>(std::move(f), client_capacity_);
  std::lock_guard<std::mutex> l(mu_);
  if (replayed) {
    std::vector<v1::AgentEvent> match;
    for (auto it = history_.rbegin(); it != history_.rend() && match.size() < replay; ++it)
      if (s->filter_.Matches(*it)) match.push_back(*it);
    replayed->assign(match.rbegin(), match.rend());
  }
  subs_.push_back(s);
  return s;
}

void EventHub::Unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard<std::mutex> l(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
}

void EventHub::CloseAll() {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard<std::mutex> l(mu_);
    subs = subs_;
  }
  for (auto& s : subs) s->Close();
}

size_t EventHub::clients() {
  std::lock_guard<std::mutex> l(mu_);
  return subs_.size();
}

uint64_t EventHub::published() {
  std::lock_guard<std::mutex> l(mu_);
  return seq_;
}

}  // namespace faasguard
