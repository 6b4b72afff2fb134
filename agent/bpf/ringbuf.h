// Reads the fg_events ring buffer on the caller's thread and hands decoded events on.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "bpf/events.h"

struct ring_buffer;

namespace faasguard {

class EventReader {
 public:
  using Handler = std::function<void(const Event&)>;
  static absl::StatusOr<std::unique_ptr<EventReader>> Create(int ringbuf_fd, Handler handler);
  ~EventReader();

  // Poll until `stop` becomes true (checked every timeout_ms).
  void Run(const std::atomic<bool>& stop, int timeout_ms = 100);
  // Consume whatever is in the buffer now, without waiting.
  void Drain();

  uint64_t received() const { return received_.load(); }
  uint64_t malformed() const { return malformed_.load(); }

 private:
  EventReader() = default;
  static int OnSample(void* ctx, void* data, size_t size);

  ring_buffer* rb_ = nullptr;
  Handler handler_;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> malformed_{0};
};

}  // namespace faasguard
