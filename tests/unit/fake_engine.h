// An Engine over the in-memory kernel (tests/fakes/fake_kernel_maps.h) with its profile store in
// a temporary directory: for tests of the parts around the engine (reports, the maintenance
// loop), which need a real one but no kernel.
#pragma once

#include <memory>
#include <string>

#include "common/log.h"
#include "core/engine.h"
#include "fakes/fake_kernel_maps.h"
#include "gtest/gtest.h"
#include "profile/store.h"
#include "unit/temp_dir.h"

namespace faasguard {

class FakeEngineTest : public ::testing::Test {
 protected:
  FakeEngineTest() : store_(dir_.path()) {}

  void SetUp() override {
    SetLogLevel(LogLevel::kError);
    ASSERT_TRUE(store_.Init().ok());
    engine_ = std::make_unique<Engine>(&kernel_, &store_, Engine::Options{});
    engine_->LoadProfiles();
  }
  void TearDown() override { SetLogLevel(LogLevel::kInfo); }

  // Registers `cgroup` as function ns/name, container "main"; returns its kernel slot.
  uint32_t Register(const std::string& ns, const std::string& name, uint64_t cgroup) {
    v1::FunctionId id;
    id.set_namespace_(ns);
    id.set_name(name);
    auto r = engine_->RegisterCgroup(id, "main", cgroup, "/sys/fs/cgroup/test/" + name);
    EXPECT_TRUE(r.ok()) << r.status();
    return kernel_.tracked[cgroup];
  }

  TempDir dir_;
  fakes::FakeKernelMaps kernel_;
  ProfileStore store_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace faasguard
