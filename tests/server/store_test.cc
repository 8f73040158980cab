#include "server/store/store.h"

#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/token.h"
#include "server/store/sqlite.h"
#include "tests/testing/temp_dir.h"

namespace hac::server::store {
namespace {

hac::v1::JobSpec Spec(const std::string& name, const std::string& key = "") {
  hac::v1::JobSpec s;
  s.set_name(name);
  s.add_devices()->set_device_class("npu");
  s.mutable_devices(0)->set_count(1);
  s.mutable_command()->add_argv("true");
  s.set_idempotency_key(key);
  return s;
}

TEST_CASE("A new store migrates to the current schema version, and reopening keeps it") {
  testing::TempDir dir;
  common::FakeClock clock;
  {
    auto store = Store::Open(dir.File("hac.db"), clock);
    REQUIRE(store.ok());
    CHECK(*(*store)->SchemaVersion() == Store::kSchemaVersion);
    REQUIRE((*store)->CreateTenant("acme").ok());
  }
  auto again = Store::Open(dir.File("hac.db"), clock);
  REQUIRE(again.ok());
  CHECK(*(*again)->SchemaVersion() == Store::kSchemaVersion);
  CHECK((*again)->FindTenant("acme")->name == "acme");
}

TEST_CASE("A database from a newer schema is refused with a clear error") {
  testing::TempDir dir;
  {
    auto db = Database::Open(dir.File("hac.db"));
    REQUIRE(db.ok());
    REQUIRE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  common::FakeClock clock;
  auto store = Store::Open(dir.File("hac.db"), clock);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(store.status().message()).find("newer") != std::string::npos);
}

TEST_CASE("The database is in WAL mode") {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("hac.db"));
  REQUIRE(db.ok());
  auto st = (*db)->Cached("PRAGMA journal_mode");
  REQUIRE(st.ok());
  REQUIRE(*(*st)->Step());
  CHECK((*st)->ColumnText(0) == "wal");
}

TEST_CASE("Tenant names are unique") {
  testing::TempDir dir;
  common::FakeClock clock;
  auto store = *Store::Open(dir.File("hac.db"), clock);
  REQUIRE(store->CreateTenant("acme").ok());
  CHECK(store->CreateTenant("acme").status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(store->FindTenant("nobody").status().code() == absl::StatusCode::kNotFound);
  CHECK(store->ListTenants()->size() == 1);
}

TEST_CASE("Jobs are committed, read back exactly, and survive reopening") {
  testing::TempDir dir;
  common::FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  int64_t id = 0;
  hac::v1::JobSpec spec = Spec("exact");
  (*spec.mutable_labels())["note"] = "\xed\x95\x9c\xea\xb8\x80'); DROP TABLE jobs; --";
  (*spec.mutable_labels())["nul"] = std::string("a\0b", 3);
  {
    auto store = *Store::Open(dir.File("hac.db"), clock);
    auto tenant = *store->CreateTenant("acme");
    auto r = store->SubmitJob({tenant.id, tenant.name, spec, "waiting"});
    REQUIRE(r.ok());
    CHECK_FALSE(r->replay);
    id = r->job.id;
    CHECK(r->job.state == hac::v1::JOB_STATE_PENDING);
    CHECK(r->job.tenant == "acme");
    CHECK(r->job.create_time == absl::FromUnixSeconds(1'800'000'000));
  }
  auto store = *Store::Open(dir.File("hac.db"), clock);
  auto job = store->GetJob(id);
  REQUIRE(job.ok());
  CHECK(job->spec.labels().at("note") == spec.labels().at("note"));
  CHECK(job->spec.labels().at("nul") == std::string("a\0b", 3));
  CHECK(job->reason == "waiting");
  CHECK(store->GetJob(id + 1).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("The same idempotency key returns the same job; a different spec is refused") {
  testing::TempDir dir;
  common::FakeClock clock;
  auto store = *Store::Open(dir.File("hac.db"), clock);
  auto a = *store->CreateTenant("a");
  auto b = *store->CreateTenant("b");
  auto first = *store->SubmitJob({a.id, a.name, Spec("j", "key-1"), ""});
  auto second = *store->SubmitJob({a.id, a.name, Spec("j", "key-1"), ""});
  CHECK(second.replay);
  CHECK(second.job.id == first.job.id);
  // Another tenant's identical key is its own.
  auto other = *store->SubmitJob({b.id, b.name, Spec("j", "key-1"), ""});
  CHECK_FALSE(other.replay);
  CHECK(other.job.id != first.job.id);
  auto conflict = store->SubmitJob({a.id, a.name, Spec("different", "key-1"), ""});
  CHECK(conflict.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(conflict.status().message()).find("spec.idempotency_key") != std::string::npos);
  CHECK(store->ListJobs({})->size() == 2);
}

TEST_CASE("Concurrent submissions are group-committed: fewer transactions than writes") {
  testing::TempDir dir;
  common::FakeClock clock;
  auto store = *Store::Open(dir.File("hac.db"), clock);
  auto t = *store->CreateTenant("acme");
  const int64_t batches_before = store->commit_batches();
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> ids(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < kPerThread; ++k) {
        auto r = store->SubmitJob({t.id, t.name, Spec("c"), ""});
        if (r.ok()) ids[i].push_back(r->job.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  CHECK(all.size() == kThreads * kPerThread);
  CHECK(store->CountJobsByState()->at(hac::v1::JOB_STATE_PENDING) == kThreads * kPerThread);
  // Eight writers keep the queue non-empty, so batches hold more than one write.
  CHECK(store->commit_batches() - batches_before < kThreads * kPerThread);
}

TEST_CASE("A failing write rolls back alone; the rest of its batch commits") {
  testing::TempDir dir;
  common::FakeClock clock;
  auto store = *Store::Open(dir.File("hac.db"), clock);
  REQUIRE(store->CreateTenant("dup").ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, exists{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto r = store->CreateTenant(i % 2 == 0 ? "dup" : "t" + std::to_string(i));
      if (r.ok()) ++ok;
      if (absl::IsAlreadyExists(r.status())) ++exists;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 3);
  CHECK(exists == 3);
  CHECK(store->ListTenants()->size() == 4);
}

TEST_CASE("Cancel moves a pending job to CANCELLED once; a second cancel is refused") {
  testing::TempDir dir;
  common::FakeClock clock;
  auto store = *Store::Open(dir.File("hac.db"), clock);
  auto t = *store->CreateTenant("acme");
  auto job = store->SubmitJob({t.id, t.name, Spec("c"), ""})->job;
  clock.Advance(absl::Seconds(5));
  auto change = store->CancelJob(job.id, "no longer needed");
  REQUIRE(change.ok());
  CHECK(change->first.state == hac::v1::JOB_STATE_PENDING);
  CHECK(change->second.state == hac::v1::JOB_STATE_CANCELLED);
  CHECK(change->second.reason == "no longer needed");
  CHECK(change->second.end_time == clock.Now());
  CHECK(store->CancelJob(job.id, "again").status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("ListJobs filters by tenant and state and pages newest first") {
  testing::TempDir dir;
  common::FakeClock clock;
  auto store = *Store::Open(dir.File("hac.db"), clock);
  auto a = *store->CreateTenant("a");
  auto b = *store->CreateTenant("b");
  std::vector<int64_t> a_ids;
  for (int i = 0; i < 5; ++i) a_ids.push_back(store->SubmitJob({a.id, a.name, Spec("a"), ""})->job.id);
  store->SubmitJob({b.id, b.name, Spec("b"), ""}).IgnoreError();
  REQUIRE(store->CancelJob(a_ids[1], "x").ok());

  JobFilter f;
  f.tenant_id = a.id;
  f.limit = 2;
  auto page1 = *store->ListJobs(f);
  REQUIRE(page1.size() == 2);
  CHECK(page1[0].id == a_ids[4]);
  CHECK(page1[1].id == a_ids[3]);
  f.before_id = page1[1].id;
  auto page2 = *store->ListJobs(f);
  REQUIRE(page2.size() == 2);
  CHECK(page2[0].id == a_ids[2]);

  JobFilter cancelled;
  cancelled.states = {hac::v1::JOB_STATE_CANCELLED};
  auto c = *store->ListJobs(cancelled);
  REQUIRE(c.size() == 1);
  CHECK(c[0].id == a_ids[1]);
}

TEST_CASE("Tokens are found by hash, and revoked tokens say so") {
  testing::TempDir dir;
  common::FakeClock clock;
  auto store = *Store::Open(dir.File("hac.db"), clock);
  auto t = *store->CreateTenant("acme");
  TokenRecord rec;
  rec.role = Role::kTenant;
  rec.tenant_id = t.id;
  auto created = store->CreateToken(rec, common::HashToken("secret"));
  REQUIRE(created.ok());
  auto found = store->FindToken(common::HashToken("secret"));
  REQUIRE(found.ok());
  CHECK(found->tenant == "acme");
  CHECK(found->role == Role::kTenant);
  CHECK(store->FindToken(common::HashToken("other")).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(store->RevokeToken(created->id)->revoked);
  CHECK(store->FindToken(common::HashToken("secret"))->revoked);
}

TEST_CASE("Job ids print as j-N and parse back; anything else is INVALID_ARGUMENT") {
  CHECK(JobIdString(42) == "j-42");
  CHECK(*ParseJobId("j-42") == 42);
  CHECK(ParseJobId("42").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseJobId("j-").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseJobId("j-0").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseJobId("j-1 OR 1=1").status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hac::server::store

namespace hac::server::store {
namespace {

TEST_CASE("A read sees every write acknowledged before it, on a reused read connection") {
  // A statement left mid-result would pin its connection to an old WAL snapshot.
  testing::TempDir dir;
  common::FakeClock clock;
  auto store = *Store::Open(dir.File("hac.db"), clock);
  auto t = *store->CreateTenant("acme");
  for (int i = 0; i < 5; ++i) {
    auto r = store->SubmitJob({t.id, t.name, Spec("s"), ""});
    REQUIRE(r.ok());
    auto got = store->GetJob(r->job.id);
    REQUIRE(got.ok());
    CHECK(store->ListJobs({})->size() == static_cast<size_t>(i + 1));
    CHECK(store->FindTenant("acme").ok());
  }
}

}  // namespace
}  // namespace hac::server::store
