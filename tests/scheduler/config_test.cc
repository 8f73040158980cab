#include <catch2/catch.hpp>

#include "scheduler/config.h"

namespace hac::scheduler {
namespace {

TEST_CASE("ParseSchedulerConfig reads every documented key") {
  auto c = ParseSchedulerConfig(R"(
    # a comment
    order = priority, fair_share, fifo
    placement = spread
    alternatives = first_listed
    quota = off
    backfill = off
    preemption = no
    on_blocked = stop
    aging_per_hour = 0.5
    default_max_runtime = 12h
    default_grace_period = 45s
    tenant_weight.alice = 2
    price.npu = 0.25
    quota.alice.gpu = 8
    quota.bob.npu = 4 borrowable
  )");
  REQUIRE(c.ok());
  CHECK(c->order == std::vector<std::string>{"priority", "fair_share", "fifo"});
  CHECK(c->placement == PlacementKind::kSpread);
  CHECK(c->alternatives == AlternativeKind::kFirstListed);
  CHECK_FALSE(c->quota);
  CHECK_FALSE(c->backfill);
  CHECK_FALSE(c->preemption);
  CHECK(c->on_blocked == OnBlocked::kStop);
  CHECK(c->aging_per_hour == 0.5);
  CHECK(c->default_max_runtime == absl::Hours(12));
  CHECK(c->default_grace_period == absl::Seconds(45));
  CHECK(c->TenantWeight("alice") == 2.0);
  CHECK(c->TenantWeight("nobody") == 1.0);
  CHECK(c->Price("npu") == 0.25);
  CHECK(c->Price("gpu") == 1.0);
  REQUIRE(c->Quota("alice", "gpu") != nullptr);
  CHECK(c->Quota("alice", "gpu")->limit == 8);
  CHECK_FALSE(c->Quota("alice", "gpu")->borrowable);
  REQUIRE(c->Quota("bob", "npu") != nullptr);
  CHECK(c->Quota("bob", "npu")->borrowable);
  CHECK(c->Quota("bob", "gpu") == nullptr);
}

TEST_CASE("ParseSchedulerConfig names the line and key of a bad setting") {
  auto unknown = ParseSchedulerConfig("backfill = on\nfrobnicate = 3\n");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(unknown.status().message()) ==
        "scheduler config line 2: frobnicate: unknown key");

  auto bad_duration = ParseSchedulerConfig("default_max_runtime = forever");
  REQUIRE_FALSE(bad_duration.ok());
  CHECK(std::string(bad_duration.status().message()).find("line 1: default_max_runtime") !=
        std::string::npos);

  auto bad_weight = ParseSchedulerConfig("tenant_weight.alice = 0");
  REQUIRE_FALSE(bad_weight.ok());
  CHECK(std::string(bad_weight.status().message()).find("tenant_weight.alice") !=
        std::string::npos);

  auto bad_policy = ParseSchedulerConfig("order = lottery");
  REQUIRE_FALSE(bad_policy.ok());
  CHECK(std::string(bad_policy.status().message()).find("lottery") != std::string::npos);

  auto bad_quota = ParseSchedulerConfig("quota.alice.gpu = 8 sometimes");
  REQUIRE_FALSE(bad_quota.ok());
  CHECK(std::string(bad_quota.status().message()).find("[borrowable]") != std::string::npos);
}

TEST_CASE("The FIFO preset is strict FIFO with first fit and no other policy") {
  SchedulerConfig f = FifoConfig();
  CHECK(f.order.empty());
  CHECK(f.placement == PlacementKind::kFirstFit);
  CHECK_FALSE(f.backfill);
  CHECK_FALSE(f.preemption);
  CHECK_FALSE(f.quota);
  CHECK(f.on_blocked == OnBlocked::kStop);
  SchedulerConfig c = ComposedConfig();
  CHECK(c.order == std::vector<std::string>{"priority", "fair_share"});
  CHECK(c.backfill);
  CHECK(c.preemption);
  CHECK(c.placement == PlacementKind::kBestFit);
}

}  // namespace
}  // namespace hac::scheduler
