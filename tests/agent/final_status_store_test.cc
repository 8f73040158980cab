// FinalStatusStore: final statuses in its journal survive a new store on the same directory (an
// agent restart), go away on Remove, a torn record is dropped, files of the former
// one-file-per-attempt layout are taken over, and the journal stays small.
#include "agent/final_status_store.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"

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
    // One journal, no file per attempt.
    CHECK(Exists(dir.File("finished/journal")));
    CHECK_FALSE(Exists(dir.File("finished/j-1.1")));
    const auto on_disk = std::filesystem::file_size(dir.File("finished/journal"));
    CHECK((*store)->journal_bytes() == static_cast<int64_t>(on_disk));
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
  loaded = (*store)->Load();
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].status.attempt_id() == "j-2.1");
  // And after a restart too: the removal was recorded.
  auto again = FinalStatusStore::Create(dir.File("finished"));
  REQUIRE(again.ok());
  loaded = (*again)->Load();
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].status.attempt_id() == "j-2.1");
}

TEST_CASE("FinalStatusStore drops a torn record and takes over files of the former layout") {
  testing::TempDir dir;
  {
    auto store = FinalStatusStore::Create(dir.File("finished"));
    REQUIRE(store.ok());
    REQUIRE((*store)->Save(MakeFinal("j-1.1", v1::ATTEMPT_STATE_SUCCEEDED, 0, 10)).ok());
    REQUIRE((*store)->Save(MakeFinal("j-2.1", v1::ATTEMPT_STATE_FAILED, 1, 20)).ok());
  }
  // A crash in the middle of the second record: its last byte never reached the disk.
  const std::string journal = dir.File("finished/journal");
  std::filesystem::resize_file(journal, std::filesystem::file_size(journal) - 1);
  // A record of the former layout (two delimited messages in a file named after the attempt),
  // a half-written temporary file, garbage, and a record whose content names another attempt.
  {
    std::string data;
    google::protobuf::io::StringOutputStream out(&data);
    const FinalStatus old = MakeFinal("j-3.1", v1::ATTEMPT_STATE_FAILED, 7, 30);
    REQUIRE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(old.status, &out));
    REQUIRE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(old.final_usage, &out));
    std::ofstream(dir.File("finished/j-3.1"), std::ios::binary) << data;
    std::ofstream(dir.File("finished/j-5.1"), std::ios::binary) << data;
  }
  std::ofstream(dir.File("finished/j-4.1.tmp~")) << "half";
  std::ofstream(dir.File("finished/j-6.1")) << "\xff\xff\xff\xff garbage";

  auto store = FinalStatusStore::Create(dir.File("finished"));
  REQUIRE(store.ok());
  std::vector<FinalStatus> loaded = (*store)->Load();
  REQUIRE(loaded.size() == 2);
  CHECK(loaded[0].status.attempt_id() == "j-1.1");
  CHECK(loaded[1].status.attempt_id() == "j-3.1");
  CHECK(loaded[1].status.exit().code() == 7);
  CHECK(loaded[1].final_usage.counters(0).allocated_ms() == 30);
  for (const char* gone : {"j-3.1", "j-4.1.tmp~", "j-5.1", "j-6.1"}) {
    INFO(gone);
    CHECK_FALSE(Exists(dir.File(std::string("finished/") + gone)));
  }
  // The journal was rewritten with what is live: a new record after it is not lost behind the
  // torn one.
  REQUIRE((*store)->Save(MakeFinal("j-8.1", v1::ATTEMPT_STATE_SUCCEEDED, 0, 40)).ok());
  auto again = FinalStatusStore::Create(dir.File("finished"));
  REQUIRE(again.ok());
  loaded = (*again)->Load();
  REQUIRE(loaded.size() == 3);
  CHECK(loaded[2].status.attempt_id() == "j-8.1");
}

TEST_CASE("FinalStatusStore keeps its journal small however many attempts pass through") {
  testing::TempDir dir;
  auto store = FinalStatusStore::Create(dir.File("finished"));
  REQUIRE(store.ok());
  REQUIRE((*store)->Save(MakeFinal("j-0.1", v1::ATTEMPT_STATE_FAILED, 2, 5)).ok());
  int64_t largest = 0;
  for (int i = 1; i <= 20'000; ++i) {
    const std::string id = "j-" + std::to_string(i) + ".1";
    REQUIRE((*store)->Save(MakeFinal(id, v1::ATTEMPT_STATE_SUCCEEDED, 0, i)).ok());
    (*store)->Remove(id);
    largest = std::max(largest, (*store)->journal_bytes());
  }
  // 20,000 attempts of about 100 bytes each were written; compaction kept about a megabyte.
  CHECK(largest > Journal::kCompactBytes / 2);
  CHECK(largest < Journal::kCompactBytes + 1024);
  auto again = FinalStatusStore::Create(dir.File("finished"));
  REQUIRE(again.ok());
  std::vector<FinalStatus> loaded = (*again)->Load();
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].status.attempt_id() == "j-0.1");
  CHECK(loaded[0].final_usage.counters(0).allocated_ms() == 5);
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
