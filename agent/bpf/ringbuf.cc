#include "bpf/ringbuf.h"

#include <bpf/libbpf.h>

#include <cerrno>

#include "common/log.h"
#include "common/status.h"

namespace faasguard {

absl::StatusOr<std::unique_ptr<EventReader>> EventReader::Create(int fd, Handler handler) {
  std::unique_ptr<EventReader> r(new EventReader());
  r->handler_ = std::move(handler);
  r->rb_ = ring_buffer__new(fd, &EventReader::OnSample, r.get(), nullptr);
  if (!r->rb_) return ErrnoStatus(errno, "open ring buffer fg_events");
  return r;
}

EventReader::~EventReader() {
  if (rb_) ring_buffer__free(rb_);
}

int EventReader::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<EventReader*>(ctx);
  auto ev = DecodeEvent(data, size);
  if (!ev.ok()) {
    self->malformed_.fetch_add(1);
    LogWarn("malformed ring-buffer record dropped", {{"error", ev.status().ToString()}});
    return 0;
  }
  self->received_.fetch_add(1);
  self->handler_(*ev);
  return 0;
}

void EventReader::Run(const std::atomic<bool>& stop, int timeout_ms) {
  while (!stop.load()) {
    int n = ring_buffer__poll(rb_, timeout_ms);
    if (n < 0 && n != -EINTR) {
      LogError("ring buffer poll failed", {{"errno", -n}});
      return;
    }
  }
  Drain();
}

void EventReader::Drain() { ring_buffer__consume(rb_); }

}  // namespace faasguard
