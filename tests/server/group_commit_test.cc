// GroupCommitter on a real SQLite file: deferrable writes join the batch of the next prompt write
// (one commit for all, in order), still commit alone once their delay has passed, and are
// committed when the committer stops; a write that fails rolls back alone (the batch runs again
// with savepoints) and the rollback hook runs.
#include "server/store/group_commit.h"

#include <catch2/catch.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace hac::server::store {
namespace {

std::unique_ptr<Database> OpenDb(const std::string& path) {
  auto db = Database::Open(path);
  REQUIRE(db.ok());
  REQUIRE((*db)->Exec("CREATE TABLE IF NOT EXISTS t(n INTEGER)").ok());
  return std::move(*db);
}

GroupCommitter::WriteFn Insert(int n) {
  return [n](Database& db) {
    const std::string sql = "INSERT INTO t(n) VALUES(" + std::to_string(n) + ")";
    return db.Exec(sql.c_str());
  };
}

std::vector<int> Rows(const std::string& path) {
  std::unique_ptr<Database> db = OpenDb(path);
  auto st = db->Cached("SELECT n FROM t ORDER BY rowid");
  REQUIRE(st.ok());
  std::vector<int> out;
  for (;;) {
    auto row = (*st)->Step();
    REQUIRE(row.ok());
    if (!*row) break;
    out.push_back(static_cast<int>((*st)->ColumnInt64(0)));
  }
  (*st)->Reset();
  return out;
}

TEST_CASE("GroupCommitter: deferrable writes share the next prompt write's commit, in order") {
  testing::TempDir dir;
  const std::string path = dir.File("db");
  absl::Mutex mu;
  std::vector<int> done;
  {
    // A delay no test outlives: only a prompt write (or stopping) can commit them.
    GroupCommitter c(OpenDb(path), 512, absl::Hours(1));
    for (int i = 1; i <= 3; ++i) {
      // Callbacks run on the writer thread: they record, the test thread checks.
      c.WriteAsync(Insert(i),
                   [&, i](const absl::Status& s) {
                     absl::MutexLock lock(&mu);
                     done.push_back(s.ok() ? i : -i);
                   },
                   /*deferrable=*/true);
    }
    REQUIRE(c.Write(Insert(4)).ok());
    CHECK(c.batches() == 1);
    CHECK(c.writes() == 4);
    REQUIRE(testing::PollUntil(
        [&] {
          absl::MutexLock lock(&mu);
          return done.size() == 3;
        },
        absl::Seconds(10)));
    CHECK(Rows(path) == std::vector<int>{1, 2, 3, 4});

    // Queued again and the committer stops: they are committed, not dropped.
    c.WriteAsync(Insert(5), [](const absl::Status&) {}, true);
  }
  CHECK(Rows(path) == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(done == std::vector<int>{1, 2, 3});
}

TEST_CASE("GroupCommitter: a deferrable write alone commits once its delay has passed") {
  testing::TempDir dir;
  const std::string path = dir.File("db");
  GroupCommitter c(OpenDb(path), 512, absl::Milliseconds(5));
  std::atomic<bool> committed{false};
  c.WriteAsync(Insert(7), [&](const absl::Status& s) { committed = s.ok(); }, true);
  REQUIRE(testing::PollUntil([&] { return committed.load(); }, absl::Seconds(10)));
  CHECK(c.batches() == 1);
  CHECK(Rows(path) == std::vector<int>{7});
}

TEST_CASE("GroupCommitter: a failing write rolls back alone; its batch runs once more") {
  testing::TempDir dir;
  const std::string path = dir.File("db");
  std::atomic<int> rollbacks{0};
  absl::Mutex mu;
  std::vector<std::string> runs;  // each write function's runs, in order
  std::vector<std::string> statuses;
  auto write = [&](const std::string& name, int n, bool fail) -> GroupCommitter::WriteFn {
    return [&, name, n, fail](Database& db) -> absl::Status {
      {
        absl::MutexLock lock(&mu);
        runs.push_back(name);
      }
      if (absl::Status s = Insert(n)(db); !s.ok()) return s;
      // Fails after its own insert: only a rollback removes the row.
      if (fail) return absl::FailedPreconditionError(name + " refused");
      return absl::OkStatus();
    };
  };
  auto record = [&](const std::string& name) {
    return [&, name](const absl::Status& s) {
      absl::MutexLock lock(&mu);
      statuses.push_back(name + (s.ok() ? ":ok" : ":" + std::string(s.message())));
    };
  };
  {
    // A delay no test outlives: the three deferrable writes wait for the prompt one, so the
    // four share one batch.
    GroupCommitter c(OpenDb(path), 512, absl::Hours(1), [&] { ++rollbacks; });
    c.WriteAsync(write("a", 1, false), record("a"), /*deferrable=*/true);
    c.WriteAsync(write("b", 2, true), record("b"), /*deferrable=*/true);
    c.WriteAsync(write("c", 3, false), record("c"), /*deferrable=*/true);
    REQUIRE(c.Write(write("d", 4, false)).ok());
    CHECK(c.batches() == 1);
    CHECK(c.writes() == 4);
    REQUIRE(testing::PollUntil(
        [&] {
          absl::MutexLock lock(&mu);
          return statuses.size() == 3;
        },
        absl::Seconds(10)));
    CHECK(Rows(path) == std::vector<int>{1, 3, 4});
    {
      absl::MutexLock lock(&mu);
      // Without savepoints until b failed, then all four again, each in its savepoint.
      CHECK(runs == std::vector<std::string>{"a", "b", "a", "b", "c", "d"});
      CHECK(statuses == std::vector<std::string>{"a:ok", "b:b refused", "c:ok"});
    }
    // The transaction, then b's savepoint.
    CHECK(rollbacks == 2);

    // A batch whose writes all succeed runs once and rolls nothing back.
    {
      absl::MutexLock lock(&mu);
      runs.clear();
    }
    c.WriteAsync(write("e", 5, false), [](const absl::Status&) {}, true);
    REQUIRE(c.Write(write("f", 6, false)).ok());
    // A write alone that fails rolls back without running again.
    CHECK(c.Write(write("g", 7, true)).message() == "g refused");
    absl::MutexLock lock(&mu);
    CHECK(runs == std::vector<std::string>{"e", "f", "g"});
  }
  CHECK(Rows(path) == std::vector<int>{1, 3, 4, 5, 6});
  CHECK(rollbacks == 3);
}

}  // namespace
}  // namespace hac::server::store
