#include "rpc/call_counter.h"

namespace faasguard {
namespace {

using grpc::experimental::InterceptionHookPoints;

class CountingInterceptor : public grpc::experimental::Interceptor {
 public:
  CountingInterceptor(std::string method, CallCounter* counter)
      : method_(std::move(method)), counter_(counter) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS))
      counter_->Add(method_, GrpcCodeName(m->GetSendStatus().error_code()));
    m->Proceed();
  }

 private:
  std::string method_;
  CallCounter* counter_;
};

class CountingFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CountingFactory(CallCounter* c) : counter_(c) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CountingInterceptor(info->method() ? info->method() : "unknown", counter_);
  }

 private:
  CallCounter* counter_;
};

}  // namespace

const char* GrpcCodeName(int code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

void CallCounter::Add(const std::string& method, const std::string& code) {
  std::lock_guard<std::mutex> l(mu_);
  ++calls_[{method, code}];
}

std::map<std::pair<std::string, std::string>, uint64_t> CallCounter::Snapshot() {
  std::lock_guard<std::mutex> l(mu_);
  return calls_;
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
CallCounter::Factories() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> v;
  v.push_back(std::make_unique<CountingFactory>(this));
  return v;
}

}  // namespace faasguard
