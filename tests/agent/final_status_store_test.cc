// FinalStatusStore: final statuses on disk survive a new store on the same directory (an agent
// restart), go away on Remove, and nothing but whole records is ever loaded.
#include "agent/final_status_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "tests/testing/temp_dir.h"

namespace hac::agent {
namespace {

FinalStatus MakeFinal(const std::string& id, v1::AttemptState state, int code,
                      int64_t allocated_ms) {
  FinalStatus f;
  f.status.set_attempt_id(id);
  f.status.set_state(state);
  f.status.mutable_exit()->set_code(code);
  f.status.mutable_exit()->set_message("exited " + std::to_string(code));
  f.status.mutable_time()->set_seconds(1'700'000'000);
  f.status.set_message("exited " + std::to_string(code));
  if (allocated_ms > 0) {
    f.final_usage.set_sequence(42);
    f.final_usage.mutable_time()->set_seconds(1'700'000'001);
    v1::UsageCounter* c = f.final_usage.add_counters();
    c->set_attempt_id(id);
    c->set_device_index(1);
    c->set_allocated_ms(allocated_ms);
    c->set_active_ms(allocated_ms / 2);
    c->set_final(true);
  }
  return f;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

TEST_CASE("FinalStatusStore gives a restarted agent back what it saved, until it is removed") {
  testing::TempDir dir;
  {
    auto store = FinalStatusStore::Create(dir.File("finished"));
    REQUIRE(store.ok());
    REQUIRE((*store)->Save(MakeFinal("j-2.1", v1::ATTEMPT_STATE_FAILED, 3, 1500)).ok());
    REQUIRE((*store)->Save(MakeFinal("j-1.1", v1::ATTEMPT_STATE_SUCCEEDED, 0, 0)).ok());
    CHECK(Exists(dir.File("finished/j-1.1")));
    CHECK(Exists(dir.File("finished/j-2.1")));
  }
  // A new store on the same directory plays the restarted agent.
  auto store = FinalStatusStore::Create(dir.File("finished"));
  REQUIRE(store.ok());
  std::vector<FinalStatus> loaded = (*store)->Load();
  REQUIRE(loaded.size() == 2);
  // Ordered by attempt id.
  CHECK(loaded[0].status.attempt_id() == "j-1.1");
  CHECK(loaded[0].status.state() == v1::ATTEMPT_STATE_SUCCEEDED);
  CHECK(loaded[0].final_usage.counters_size() == 0);
  const FinalStatus& failed = loaded[1];
  CHECK(failed.status.attempt_id() == "j-2.1");
  CHECK(failed.status.state() == v1::ATTEMPT_STATE_FAILED);
  CHECK(failed.status.exit().code() == 3);
  CHECK(failed.status.exit().message() == "exited 3");
  CHECK(failed.status.time().seconds() == 1'700'000'000);
  CHECK(failed.final_usage.sequence() == 42);
  REQUIRE(failed.final_usage.counters_size() == 1);
  CHECK(failed.final_usage.counters(0).device_index() == 1);
  CHECK(failed.final_usage.counters(0).allocated_ms() == 1500);
  CHECK(failed.final_usage.counters(0).active_ms() == 750);
  CHECK(failed.final_usage.counters(0).final());

  // Saving again replaces the record.
  REQUIRE((*store)->Save(MakeFinal("j-2.1", v1::ATTEMPT_STATE_CANCELLED, -1, 1600)).ok());
  loaded = (*store)->Load();
  REQUIRE(loaded.size() == 2);
  CHECK(loaded[1].status.state() == v1::ATTEMPT_STATE_CANCELLED);
  CHECK(loaded[1].final_usage.counters(0).allocated_ms() == 1600);

  (*store)->Remove("j-1.1");
  (*store)->Remove("j-9.9");  // never saved: nothing happens
  CHECK_FALSE(Exists(dir.File("finished/j-1.1")));
  loaded = (*store)->Load();
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].status.attempt_id() == "j-2.1");
}

TEST_CASE("FinalStatusStore deletes half-written and foreign files instead of loading them") {
  testing::TempDir dir;
  auto store = FinalStatusStore::Create(dir.File("finished"));
  REQUIRE(store.ok());
  REQUIRE((*store)->Save(MakeFinal("j-1.1", v1::ATTEMPT_STATE_SUCCEEDED, 0, 10)).ok());
  // What a crash in the middle of Save leaves behind.
  std::ofstream(dir.File("finished/j-2.1.tmp~")) << "half";
  // Not protobuf, and a record whose content names another attempt.
  std::ofstream(dir.File("finished/j-3.1")) << "\xff\xff\xff\xff garbage";
  std::ofstream(dir.File("finished/j-4.1")).close();
  {
    std::ifstream in(dir.File("finished/j-1.1"), std::ios::binary);
    std::ofstream out(dir.File("finished/j-5.1"), std::ios::binary);
    out << in.rdbuf();
  }
  std::vector<FinalStatus> loaded = (*store)->Load();
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].status.attempt_id() == "j-1.1");
  CHECK_FALSE(Exists(dir.File("finished/j-2.1.tmp~")));
  CHECK_FALSE(Exists(dir.File("finished/j-3.1")));
  CHECK_FALSE(Exists(dir.File("finished/j-4.1")));
  CHECK_FALSE(Exists(dir.File("finished/j-5.1")));
  CHECK(Exists(dir.File("finished/j-1.1")));
}

TEST_CASE("FinalStatusStore refuses an attempt id that is not a file name") {
  testing::TempDir dir;
  auto store = FinalStatusStore::Create(dir.File("finished"));
  REQUIRE(store.ok());
  absl::Status s = (*store)->Save(MakeFinal("../escape", v1::ATTEMPT_STATE_FAILED, 1, 0));
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK_FALSE(Exists(dir.File("escape")));
  CHECK((*store)->Load().empty());
}

}  // namespace
}  // namespace hac::agent
